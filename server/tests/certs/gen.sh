#!/usr/bin/env bash
# Generates the test certificates used by natsd's TLS tests (server/tests, ported/).
# They are natsd's own, made with openssl; the subjects and alternative names are the ones
# the nats-server tests rely on (same layout of directories and file names).
# Re-run from this directory to regenerate: `bash gen.sh`. Valid for 20 years.
set -euo pipefail
cd "$(dirname "$0")"
DAYS=7300

# ca DIR SUBJECT: a self-signed CA in DIR/ca.pem (key DIR/ca-key.pem).
ca() {
  mkdir -p "$1"
  openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days "$DAYS" \
    -keyout "$1/ca-key.pem" -out "$1/ca.pem" -subj "$2" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
}

# leaf CADIR CERT KEY SUBJECT SAN: a certificate signed by CADIR's CA.
leaf() {
  local cadir=$1 cert=$2 key=$3 subj=$4 san=$5
  local ext
  ext=$(mktemp)
  {
    echo "basicConstraints=CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=serverAuth,clientAuth"
    [ -n "$san" ] && echo "subjectAltName=$san"
  } >"$ext"
  openssl req -new -newkey rsa:2048 -nodes -keyout "$key" -out "$cert.csr" \
    -subj "$subj" -multivalue-rdn 2>/dev/null
  openssl x509 -req -in "$cert.csr" -CA "$cadir/ca.pem" -CAkey "$cadir/ca-key.pem" \
    -CAcreateserial -out "$cert" -days "$DAYS" -sha256 -extfile "$ext" 2>/dev/null
  rm -f "$cert.csr" "$ext" "$cadir/ca.srl"
}

# Top level: the server and client certificates most tests use.
ca . "/C=US/ST=California/O=Synadia/OU=nats.io/CN=Certificate Authority natsd"
LOCAL="DNS:localhost,IP:127.0.0.1,IP:::1"
leaf . server-cert.pem server-key.pem "/C=US/ST=California/O=Synadia/OU=nats.io/CN=localhost" "$LOCAL"
leaf . client-cert.pem client-key.pem "/C=US/ST=California/O=Synadia/OU=nats.io/CN=localhost" "$LOCAL,email:derek@nats.io"
leaf . client-id-auth-cert.pem client-id-auth-key.pem "/C=US/ST=California/O=Synadia/OU=nats.io/CN=localhost" "$LOCAL,email:derek@nats.io"
# Two server certificates for `tls { certs [...] }` (each also has its own name).
leaf . srva-cert.pem srva-key.pem "/C=US/ST=California/O=Synadia/OU=nats.io/CN=localhost" "$LOCAL,DNS:srva.localhost"
leaf . srvb-cert.pem srvb-key.pem "/C=US/ST=California/O=Synadia/OU=nats.io/CN=localhost" "$LOCAL,DNS:srvb.localhost"

# sans/: mapping users by DNS and e-mail alternative names.
ca sans "/CN=NATS CA"
leaf sans sans/server.pem sans/server-key.pem "/CN=localhost" "$LOCAL"
leaf sans sans/client.pem sans/client-key.pem "/CN=www.nats.io" "DNS:localhost,DNS:example.com,DNS:www.example.com"
leaf sans sans/dev.pem sans/dev-key.pem "/CN=www.nats.io" "DNS:app.nats.dev,DNS:*.app.nats.dev"
leaf sans sans/dev-email.pem sans/dev-email-key.pem "/CN=www.nats.io" "DNS:app.nats.dev,email:admin@app.nats.dev,email:root@app.nats.dev"
leaf sans sans/prod.pem sans/prod-key.pem "/CN=www.nats.io" "DNS:app.nats.prod,DNS:*.app.nats.prod"

# tlsauth/: mapping users by subject.
ca tlsauth "/CN=NATS CA"
leaf tlsauth tlsauth/server.pem tlsauth/server-key.pem "/CN=localhost" "$LOCAL"
leaf tlsauth tlsauth/client.pem tlsauth/client-key.pem "/OU=NATS.io/CN=example.com" "DNS:localhost,DNS:example.com,DNS:www.example.com"
leaf tlsauth tlsauth/client2.pem tlsauth/client2-key.pem "/OU=CNCF/CN=example.com" "DNS:localhost,DNS:example.com,DNS:www.example.com"

# svid/: SPIFFE URIs.
ca svid "/CN=NATS CA"
leaf svid svid/server.pem svid/server.key "/CN=localhost" "$LOCAL,DNS:example.com,DNS:www.example.com"
leaf svid svid/client-a.pem svid/client-a.key "/C=US/ST=CA/L=Los Angeles/O=NATS/OU=NATS/CN=localhost/DC=foo1/DC=foo2" "DNS:localhost,DNS:example.com,DNS:www.example.com,URI:spiffe://localhost/my-nats-service/user-a"
leaf svid svid/client-b.pem svid/client-b.key "/C=US/O=SPIRE" "DNS:localhost,DNS:example.com,DNS:www.example.com,URI:spiffe://localhost/my-nats-service/user-b"

# rdns/: mapping users by distinguished names (order, domain components, multi-valued).
ca rdns "/CN=NATS CA"
leaf rdns rdns/server.pem rdns/server.key "/CN=localhost" "$LOCAL,DNS:example.com,DNS:www.example.com"
SANS="DNS:localhost,DNS:example.com,DNS:www.example.com"
leaf rdns rdns/client-a.pem rdns/client-a.key "/C=US/ST=CA/L=Los Angeles/O=NATS/OU=NATS/CN=localhost/DC=foo1/DC=foo2" "$SANS"
leaf rdns rdns/client-b.pem rdns/client-b.key "/C=US/ST=CA/L=Los Angeles/O=NATS/OU=NATS/CN=localhost" "$SANS"
leaf rdns rdns/client-c.pem rdns/client-c.key "/C=US/ST=CA/L=Los Angeles/O=NATS/OU=NATS/CN=localhost/DC=foo3/DC=foo4" "$SANS"
leaf rdns rdns/client-d.pem rdns/client-d.key "/C=US/ST=CA/L=Los Angeles/OU=NATS/O=NATS/CN=*.example.com/DC=example/DC=com" "$SANS"
leaf rdns rdns/client-e.pem rdns/client-e.key "/CN=John Doe/CN=123456/CN=jdoe/OU=Users/OU=Organic Units/DC=acme/DC=com" "$SANS"
leaf rdns rdns/client-f.pem rdns/client-f.key "/DC=org/DC=OpenSSL/DC=DEV+O=users/CN=John Doe" "$SANS"

# nosubj/: Ed25519, a client certificate with an empty subject and only a DNS SAN.
edca() {
  mkdir -p "$1"
  openssl req -x509 -newkey ed25519 -nodes -days "$DAYS" \
    -keyout "$1/ca-key.pem" -out "$1/ca.pem" -subj "$2" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
}
edleaf() {
  local cadir=$1 cert=$2 key=$3 subj=$4 san=$5
  local ext
  ext=$(mktemp)
  printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=%s\n' "$san" >"$ext"
  openssl req -new -newkey ed25519 -nodes -keyout "$key" -out "$cert.csr" -subj "$subj" 2>/dev/null
  openssl x509 -req -in "$cert.csr" -CA "$cadir/ca.pem" -CAkey "$cadir/ca-key.pem" \
    -CAcreateserial -out "$cert" -days "$DAYS" -extfile "$ext" 2>/dev/null
  rm -f "$cert.csr" "$ext" "$cadir/ca.srl"
}
edca nosubj "/CN=test-ca"
edleaf nosubj nosubj/server-cert.pem nosubj/server-key.pem "/CN=localhost" "DNS:localhost,IP:127.0.0.1"
edleaf nosubj nosubj/client-nosubj-cert.pem nosubj/client-nosubj-key.pem "/" "DNS:localhost"
