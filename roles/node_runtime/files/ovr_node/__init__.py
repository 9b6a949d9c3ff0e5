# Copyright: ovr.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ovr_node: the on-node Python runtime of ovr.fleet, installed by the role ovr.fleet.node_runtime
to /usr/local/lib/ovr/python/ovr_node and started by small launchers (``python3 -m ovr_node.<module>``).

Programs:

* ``collector`` - the GX telemetry daemon ``ovr-collector`` (MQTT -> VictoriaMetrics), built from
  ``config`` (options, the env file), ``spool`` (batches on disk), ``pipeline`` (memory buffer,
  spill, replay order), ``writer`` (the VictoriaMetrics writer thread), ``broker`` (one MQTT link
  per GX broker, ``gx_systems.json``) and ``http`` (``/metrics``, ``/healthz``);
* ``refresh`` - ``ovr-refresh-gx-mqtt-sources``: discovery, keepalives, generated GX config;
* ``envcheck`` - ``ovr-check-env``: the validator of the env files the roles write.

The engine - ``victron``, ``mqtt``, ``gx``, ``envfile``, ``fleet_model``, ``wifi`` - is the
collection's own ``plugins/module_utils`` code, kept there only: the role reads those files from the
collection's module_utils and installs them beside the programs (``__node_runtime_engine``), so the
node runs the very code the modules and tests run.
"""
