#!/usr/bin/env bash
# Copies the BearSSL sources storage-init links (signature checking: X.509 decoding, RSA/ECDSA
# verification, SHA-2) from Debian's source package into storage-init/bearssl/, verbatim.
# Why not libbearssl-dev's libbearssl.a: it is built with _FORTIFY_SOURCE against glibc, so its
# objects call __memcpy_chk/__memset_chk, which musl does not have (the static link fails).
# The public headers stay libbearssl-dev's (/usr/include/bearssl, the same version); this script
# checks they are identical to the source package's.
# apt-get source with a private sources list and state dir: the machine's apt setup is untouched;
# apt checks the source package against the Debian archive keyring.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=0.6+dfsg.1-3
FILES="src/config.h src/inner.h
src/codec/ccopy.c src/codec/dec32be.c src/codec/dec64be.c src/codec/enc32be.c src/codec/enc64be.c
src/hash/sha2small.c src/hash/sha2big.c
src/int/i31_add.c src/int/i31_bitlen.c src/int/i31_decmod.c src/int/i31_decode.c src/int/i31_encode.c
src/int/i31_fmont.c src/int/i31_iszero.c src/int/i31_modpow.c src/int/i31_modpow2.c src/int/i31_montmul.c
src/int/i31_muladd.c src/int/i31_ninv31.c src/int/i31_rshift.c src/int/i31_sub.c src/int/i31_tmont.c
src/int/i32_div32.c
src/rsa/rsa_i31_pkcs1_vrfy.c src/rsa/rsa_i31_pub.c src/rsa/rsa_pkcs1_sig_unpad.c
src/ec/ec_prime_i31.c src/ec/ec_secp256r1.c src/ec/ec_secp384r1.c src/ec/ec_secp521r1.c
src/ec/ecdsa_atr.c src/ec/ecdsa_i31_bits.c src/ec/ecdsa_i31_vrfy_asn1.c src/ec/ecdsa_i31_vrfy_raw.c
src/x509/x509_decoder.c
LICENSE.txt"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/lists/partial" "$tmp/src"
echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm main" >"$tmp/sources.list"
apt=(apt-get -qq -o Dir::Etc::SourceList="$tmp/sources.list" -o Dir::Etc::SourceParts=/dev/null -o Dir::State::Lists="$tmp/lists")
"${apt[@]}" update
(cd "$tmp/src" && "${apt[@]}" source --download-only "bearssl=$VERSION" && tar xf bearssl_*.orig.tar.xz)
src=$(echo "$tmp"/src/bearssl-*/)
diff -r "$src/inc" /usr/include/bearssl >/dev/null || { echo "libbearssl-dev's headers differ from bearssl $VERSION's" >&2; exit 1; }
out=storage-init/bearssl
rm -rf "$out.new" && mkdir -p "$out.new"
for f in $FILES; do mkdir -p "$out.new/$(dirname "$f")" && cp "$src/$f" "$out.new/$f"; done
echo "$VERSION" >"$out.new/VERSION"
rm -rf "$out" && mv "$out.new" "$out"
echo "storage-init/bearssl: $(echo $FILES | wc -w) files from bearssl $VERSION"
