#!/bin/sh
# The secrets compose.yaml expects, made locally (never committed: see .gitignore):
#   deploy/tls/ca.pem, ca-key.pem     a private CA (give ca.pem to the clients)
#   deploy/tls/server.pem, -key.pem   the replicas' certificate, for the names convene, convene-1,
#                                     convene-2, localhost and 127.0.0.1
#   deploy/postgres.env               the database password, for PostgreSQL and for libpq
set -eu
cd "$(dirname "$0")"
mkdir -p tls
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 365 \
    -subj "/CN=Convene private CA" -keyout tls/ca-key.pem -out tls/ca.pem
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=convene" \
    -keyout tls/server-key.pem -out tls/server.csr
printf 'subjectAltName=DNS:convene,DNS:convene-1,DNS:convene-2,DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' \
    > tls/server.ext
openssl x509 -req -in tls/server.csr -CA tls/ca.pem -CAkey tls/ca-key.pem -CAcreateserial -days 90 \
    -extfile tls/server.ext -out tls/server.pem
rm tls/server.csr tls/server.ext
chmod 644 tls/server-key.pem  # read by the image's user (uid 10001) through the read-only mount
password=$(openssl rand -hex 24)
printf 'POSTGRES_PASSWORD=%s\nPGPASSWORD=%s\n' "$password" "$password" > postgres.env
chmod 600 postgres.env
echo "made deploy/tls/ and deploy/postgres.env"
