"""The edge node's env file (testinfra)."""

testinfra_hosts = ["layout-edge"]


def test_edge_env_content(host):
    text = host.file("/etc/ovr/edge.env").content_string
    for line in ("OVR_SITE_ID='7'", "OVR_SITE_NAME='lab'", "OVR_NODE_ID='2'", "OVR_NODE_NAME='layout-edge'",
                 "OVR_OVERLAY_IP='10.231.7.2'", "OVR_CLOUD_URL='https://cloud.lab.invalid'",
                 "COMPOSE_PROJECT_NAME='ovr-edge'", 'OVR_NOTE="it\'s quoted"'):
        assert line in text.splitlines()
