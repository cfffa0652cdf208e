#!/bin/sh
# Tells nats-server to reload its configuration, and with it its certificates, whenever the mounted
# certificate files change: cert-manager renews them in the Secret, the kubelet swaps the mounted
# files, and nats-server, which reads them only when it (re)loads its configuration, would otherwise
# keep serving the old certificate until it expires. Runs beside nats-server (same Pod, shared
# process namespace, same user) in the nats image; also run by e2e/test/deploy.test.ts.
#   TLS_DIR               the mounted certificate files (tls.crt, tls.key, ca.crt)
#   NATS_PID_FILE         nats-server's pid_file
#   CHECK_EVERY_SECONDS   how often the files are compared (default 10)
set -u
: "${TLS_DIR:=/etc/nats/tls}" "${NATS_PID_FILE:=/var/run/nats/nats.pid}" "${CHECK_EVERY_SECONDS:=10}"

fingerprint() {
  cat "$TLS_DIR/tls.crt" "$TLS_DIR/tls.key" "$TLS_DIR/ca.crt" 2>/dev/null | cksum
}

trap 'exit 0' TERM INT
loaded=$(fingerprint)
echo "watching $TLS_DIR for new certificates"
while :; do
  sleep "$CHECK_EVERY_SECONDS" &
  wait $!
  current=$(fingerprint)
  [ "$current" = "$loaded" ] && continue
  # A change seen half-way (one file new, one old) is seen again complete on the next check.
  if nats-server --signal "reload=$NATS_PID_FILE"; then
    echo "certificates changed: nats-server reloaded"
    loaded=$current
  else
    echo "certificates changed, but nats-server could not be signalled; trying again" >&2
  fi
done
