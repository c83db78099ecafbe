#!/usr/bin/env bash
# Writes a self-signed certificate for localhost (and 127.0.0.1, ::1), for the
# compose stack's TLS and for trying MESSENGER_TLS_CERT_FILE locally:
#
#   scripts/cert.sh [DIR]     default deploy/certs; writes DIR/tls.crt and DIR/tls.key
#
# An existing pair is kept (CERT_FORCE=1 replaces it). The certificate is its
# own CA: trust DIR/tls.crt in the client (curl --cacert, a browser exception).
# Production certificates come from a CA (cert-manager, certbot); the server
# and nginx read the same two files.
set -euo pipefail
cd "$(dirname "$0")/.."

DIR="${1:-deploy/certs}"
DAYS="${CERT_DAYS:-365}"
mkdir -p "$DIR"
if [ -s "$DIR/tls.crt" ] && [ -s "$DIR/tls.key" ] && [ -z "${CERT_FORCE:-}" ]; then
	echo "$DIR/tls.crt exists; keeping it (CERT_FORCE=1 replaces it)" >&2
	exit 0
fi
umask 077
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	-days "$DAYS" -subj "/CN=localhost" \
	-addext "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1" \
	-addext "basicConstraints=critical,CA:TRUE" \
	-addext "keyUsage=critical,digitalSignature,keyCertSign" \
	-addext "extendedKeyUsage=serverAuth" \
	-keyout "$DIR/tls.key.new" -out "$DIR/tls.crt.new" 2>/dev/null
chmod 644 "$DIR/tls.crt.new"
mv "$DIR/tls.key.new" "$DIR/tls.key"
mv "$DIR/tls.crt.new" "$DIR/tls.crt"
echo "wrote $DIR/tls.crt and $DIR/tls.key (self-signed for localhost, $DAYS days)" >&2
