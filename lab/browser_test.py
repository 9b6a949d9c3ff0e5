"""The UI plane in a real browser, against the running lab (./fleet lab; part of tests/run.sh's
lab cycle): headless Chromium and chromium-driver from Debian's packages, driven by Selenium
(requirements.txt). Nothing downloads a browser or a driver.

    python3 lab/browser_test.py [--shots DIR]

Checks, each printed as `ok`/`FAILED` with what was seen; screenshots in DIR
($OVR_STATE/logs by default):
  * /beta/ on edge-b shows edge-b's GX values live (from /api/realtime), edge-a as a reachable
    peer with values, and a chart of the last hour that draws points;
  * once the service worker controls the page, with edge-b's nginx stopped, a reload still shows
    the shell, the last values and the stale marker (nginx is started again after);
  * /beta/ on the cloud, signed in as the lab operator, lists both edges.
The nodes are reached on their lab addresses (container IPs); for the edge the browser is told to
treat that http:// origin as secure, as it treats https:// or localhost (a service worker needs
one).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LAB = "ovr-lab"
EDGE_B_GX = "c0619ab1e002"
EDGE_A_GX = "c0619ab1e001"
RESULTS = []


def container_ip(name):
    out = subprocess.run(["docker", "inspect", "-f", "{{json .NetworkSettings.Networks}}", name], capture_output=True,
                         text=True, check=True).stdout
    nets = json.loads(out)
    # the site network for an edge, the WAN for the cloud: any address of the container answers
    for net in sorted(nets):
        if nets[net].get("IPAddress"):
            return nets[net]["IPAddress"]
    raise SystemExit("%s has no address" % name)


def node_compose(node, *args):
    """docker compose in a lab node (its stack project), e.g. stop nginx."""
    cmd = ["docker", "exec", "%s-%s" % (LAB, node), "docker", "compose", "--project-directory", "/opt/ovr/edge"]
    return subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=120, check=False)


def check(name, ok, seen):
    RESULTS.append((name, bool(ok)))
    print("%s  %s: %s" % ("ok    " if ok else "FAILED", name, seen), flush=True)
    return ok


def wait_for(driver, script, timeout, interval=0.5):
    """Run ``script`` (JS returning a value) until truthy or timeout; returns the last value."""
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        try:
            value = driver.execute_script(script)
        except WebDriverException:
            value = None
        if value:
            return value
        time.sleep(interval)
    return value


def browser(secure_origin=None):
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 "--window-size=412,915", "--disable-background-networking", "--no-first-run",
                 "--disable-component-update", "--disable-sync", "--disable-default-apps"):
        options.add_argument(flag)
    if secure_origin:
        options.add_argument("--unsafely-treat-insecure-origin-as-secure=%s" % secure_origin)
    options.add_argument("--ignore-certificate-errors")   # the cloud's lab CA (the cloud test needs no worker)
    return webdriver.Chrome(options=options, service=Service(executable_path="/usr/bin/chromedriver"))


SYSTEM = """
var card = document.querySelector('#systems [data-system="%s"]');
if (!card) return null;
var soc = card.querySelector('[data-field=soc] b').textContent;
var badge = card.querySelector('.badge').textContent;
return /^[0-9.]+$/.test(soc) ? {soc: soc, badge: badge, voltage: card.querySelector('[data-field=voltage] b').textContent} : null;
"""
PEER = """
var card = document.querySelector('#peers [data-peer="%s"]');
if (!card || card.getAttribute('data-reachable') !== 'true') return null;
var sys = card.querySelector('[data-system="%s"] [data-field=soc] b');
return sys && /^[0-9.]+$/.test(sys.textContent) ? {soc: sys.textContent} : null;
"""


def edge_tests(shots):
    address = container_ip("%s-edge-b" % LAB)
    origin = "http://%s" % address
    driver = browser(secure_origin=origin)
    try:
        driver.get(origin + "/beta/")
        seen = wait_for(driver, SYSTEM % EDGE_B_GX, 30)
        check("edge-b /beta/ shows edge-b's GX values", seen and seen["badge"] == "live", seen)
        others = driver.execute_script("return Array.from(document.querySelectorAll('#systems [data-system]'))"
                                       ".map(function (c) { return c.getAttribute('data-system'); })")
        check("edge-b lists only its own GX", EDGE_A_GX not in (others or []), others)
        peer = wait_for(driver, PEER % ("edge-a", EDGE_A_GX), 30)
        check("edge-a is a reachable peer with values", peer, peer)
        points = wait_for(driver, "var c = document.getElementById('chart');"
                                  "return c.querySelector('canvas') && Number(c.getAttribute('data-points')) > 0"
                                  " ? Number(c.getAttribute('data-points')) : 0;", 30)
        check("the chart draws points (last hour of %s)" % driver.execute_script(
            "return document.getElementById('series').selectedOptions[0].textContent"), points, "%s points" % points)
        driver.save_screenshot(os.path.join(shots, "edge-b-beta.png"))
        # a peer's series charted through the peer proxy
        chosen = driver.execute_script(
            "var s = document.getElementById('series'); for (var i = 0; i < s.options.length; i++) {"
            " if (s.options[i].value.indexOf('peer:edge-a|') === 0) { s.selectedIndex = i;"
            " s.dispatchEvent(new Event('change')); return s.options[i].value; } } return null;")
        time.sleep(0.5)
        points = wait_for(driver, "var c = document.getElementById('chart');"
                                  "return Number(c.getAttribute('data-points')) > 0 && document.getElementById("
                                  "'chart-status').textContent.indexOf('points') > 0 ? Number(c.getAttribute('data-points')) : 0;", 20)
        check("a peer's series is charted through the peer proxy", chosen and points, "%s: %s points" % (chosen, points))

        # offline: the worker controls the page, then nginx goes away
        state = wait_for(driver, "return document.documentElement.getAttribute('data-sw') === 'ready' ? 'ready' : null;", 20)
        driver.refresh()
        controlled = wait_for(driver, "return navigator.serviceWorker && navigator.serviceWorker.controller ? true : null;", 15)
        wait_for(driver, SYSTEM % EDGE_B_GX, 20)
        check("the service worker is installed and controls /beta/", state == "ready" and controlled,
              "%s, controlled=%s" % (state, controlled))
        stopped = node_compose("edge-b", "stop", "nginx")
        try:
            check("edge-b's nginx stopped", stopped.returncode == 0, stopped.stderr.strip()[-200:])
            driver.refresh()
            shell = wait_for(driver, "return document.getElementById('title') &&"
                                     " document.getElementById('title').textContent.indexOf('edge-b') >= 0"
                                     " ? document.getElementById('title').textContent : null;", 20)
            banner = wait_for(driver, "var b = document.getElementById('banner');"
                                      "return b && !b.hidden ? b.textContent : null;", 20)
            stale = wait_for(driver, "var s = document.getElementById('systems');"
                                     "var c = s.querySelector('[data-system=\"%s\"].stale');"
                                     "return s.getAttribute('data-stale') === 'true' && c ? c.querySelector('.badge').textContent : null;"
                             % EDGE_B_GX, 20)
            driver.save_screenshot(os.path.join(shots, "edge-b-offline.png"))
            check("with nginx stopped a reload shows the shell", shell, shell)
            check("... with the last values marked stale", banner and "STALE" in banner and stale == "stale",
                  "banner=%r card=%r" % (banner, stale))
        finally:
            started = node_compose("edge-b", "start", "nginx")
            check("edge-b's nginx started again", started.returncode == 0, started.stderr.strip()[-200:])
        live = wait_for(driver, "var b = document.getElementById('banner'); return b && b.hidden ? true : null;", 30)
        check("back online, the stale marker goes", live, live)
    finally:
        driver.quit()


def cloud_tests(shots):
    address = container_ip("%s-cloud-1" % LAB)
    with open(os.path.join(ROOT, ".cache", "lab", "secrets", "lab_ops_password"), encoding="utf-8") as handle:
        password = handle.read().strip()
    driver = browser()
    try:
        driver.get("https://%s:8443/beta/" % address)
        form = wait_for(driver, "var l = document.getElementById('login'); return l && !l.hidden ? true : null;", 20)
        check("the cloud console asks to sign in", form, form)
        driver.find_element(By.ID, "login-user").send_keys("ops")
        driver.find_element(By.ID, "login-password").send_keys(password)
        driver.find_element(By.CSS_SELECTOR, "#login-form button").click()
        nodes = wait_for(driver, "var rows = Array.from(document.querySelectorAll('#fleet tr[data-node]'));"
                                 "return rows.length >= 2 ? rows.map(function (r) { return r.getAttribute('data-node') + ':'"
                                 " + r.getAttribute('data-stale'); }) : null;", 30)
        check("the cloud's /beta/ lists both edges", nodes and {"edge-a:false", "edge-b:false"} <= set(nodes), nodes)
        charts = wait_for(driver, "var c = document.querySelectorAll('.node-chart canvas'); return c.length >= 2 ? c.length : null;", 20)
        check("a chart per node", charts, charts)
        driver.save_screenshot(os.path.join(shots, "cloud-beta.png"))
    finally:
        driver.quit()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--shots", default=os.path.join(os.environ.get("OVR_STATE", os.path.join(ROOT, ".cache")), "logs"))
    args = parser.parse_args(argv)
    os.makedirs(args.shots, exist_ok=True)
    started = time.monotonic()
    # Chromium leaves its singleton folders (org.chromium.Chromium.*) in TMPDIR after it quits:
    # give it one of its own, removed with everything in it.
    outer = os.environ.get("TMPDIR")
    with tempfile.TemporaryDirectory(prefix="ovr-browser-") as tmp:
        os.environ["TMPDIR"] = tmp
        try:
            edge_tests(args.shots)
            cloud_tests(args.shots)
        finally:
            os.environ.pop("TMPDIR")
            if outer is not None:
                os.environ["TMPDIR"] = outer
    failed = [name for name, ok in RESULTS if not ok]
    print("browser tests: %d checks, %d failed, %.0f s; screenshots in %s"
          % (len(RESULTS), len(failed), time.monotonic() - started, args.shots))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
