#!/bin/sh
# $BROWSER for the bridge during conformance runs: "opens" the authorization URL by
# following its redirect chain with curl. The conformance authorization server approves at
# once and redirects to the bridge's loopback callback (http://127.0.0.1:PORT/callback?code=…),
# which curl then requests, handing the bridge its code. Loopback only, bounded in time.
# The bridge runs this in the background with its output discarded, so it logs to
# $KB_CONF_BROWSER_LOG.
# KB_CONF_BROWSER_DELAY (seconds, unset for the bridge) stands for a real browser's start-up
# time: a relay that starts its callback listener only after the opener returns (mcp-remote
# does) would otherwise lose the instant redirect.
log=${KB_CONF_BROWSER_LOG:-/dev/null}
url=$1
{
  printf '[%s] open %s\n' "$(date -u +%H:%M:%S)" "$url"
  if [ -n "${KB_CONF_BROWSER_DELAY:-}" ]; then sleep "$KB_CONF_BROWSER_DELAY"; fi
  curl --silent --show-error --location --max-redirs 10 --max-time 20 --noproxy '*' \
    --output /dev/null --write-out 'final=%{url_effective} status=%{http_code} redirects=%{num_redirects}\n' \
    -- "$url"
  printf 'curl exit %s\n' "$?"
} >>"$log" 2>&1
