"""query.py URL PROMQL: print a PromQL result compactly (used by lab/report.yml on a node).

An instant vector of one unlabelled sample prints its value; with labels, `label=value:N`
pairs. Basic auth from LAB_USER / LAB_PASSWORD when set; TLS is not verified (the lab asks
its own node on 127.0.0.1, whose certificate names the cloud, not 127.0.0.1).
"""
import base64
import json
import os
import ssl
import sys
import urllib.parse
import urllib.request


def main(url, query):
    request = urllib.request.Request(url + "?" + urllib.parse.urlencode({"query": query}))
    if os.environ.get("LAB_PASSWORD"):
        token = base64.b64encode(("%s:%s" % (os.environ["LAB_USER"], os.environ["LAB_PASSWORD"])).encode()).decode()
        request.add_header("Authorization", "Basic " + token)
    context = ssl._create_unverified_context()  # pylint: disable=protected-access
    try:
        with urllib.request.urlopen(request, timeout=10, context=context) as response:
            data = json.load(response)
    except OSError as exc:
        print("error: %s" % exc)
        return 1
    result = data.get("data", {}).get("result", [])
    if not result:
        print("0")
    elif len(result) == 1 and not result[0]["metric"]:
        print(result[0]["value"][1])
    else:
        print(" ".join("%s:%s" % (",".join("%s" % v for v in r["metric"].values()), r["value"][1]) for r in result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
