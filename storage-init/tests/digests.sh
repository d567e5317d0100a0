#!/bin/sh
# storage-init's SHA-256/512 and fs-verity digests against sha256sum,
# sha512sum and `fsverity digest` (fsverity-utils) on edge sizes; SHA-256 both
# with the CPU's SHA instructions (when it has them) and the portable code.
# usage: [RUN=qemu-aarch64] digests.sh DIGEST-BINARY (RUN: how to run a binary built for another architecture)
# A missing tool fails: scripts/setup.sh installs fsverity.
set -u
RUN=${RUN:-}
DIGEST=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT INT TERM
pass=0 fail=0

check() { # name want got
	if [ -n "$2" ] && [ "$2" = "$3" ]; then pass=$((pass + 1)); echo "ok   $1"
	else fail=$((fail + 1)); echo "FAIL $1: want '$2', got '$3'"; fi
}

for tool in fsverity sha256sum sha512sum; do
	command -v $tool >/dev/null 2>&1 || { fail=$((fail + 1)); echo "FAIL $tool missing"; }
done

# sizes around SHA padding, fs-verity blocks, the 128- and 64-digest hash
# blocks (one tree level more) and a three-level tree (sha512: 64*64 blocks)
i=0
for size in 0 1 55 56 63 64 111 112 119 127 128 4095 4096 4097 8192 $((128 * 4096)) \
	    $((128 * 4096 + 1)) $((129 * 4096 + 1)) $((64 * 4096 + 1)) $((64 * 64 * 4096 + 4097)) 1000000; do
	i=$((i + 1))
	f=$T/f$size
	# varied, non-repeating content (a zero block would hide ordering bugs)
	head -c "$size" /dev/urandom >"$f"
	want=sha256:$(sha256sum "$f" | cut -d' ' -f1)
	check "sha256 $size" "$want" "$($RUN "$DIGEST" sha256 "$f")"
	check "sha256 $size (portable code)" "$want" "$(SI_SHA_PORTABLE=1 $RUN "$DIGEST" sha256 "$f")"
	check "sha512 $size" "sha512:$(sha512sum "$f" | cut -d' ' -f1)" "$($RUN "$DIGEST" sha512 "$f")"
	for alg in sha256 sha512; do
		want=$(fsverity digest --hash-alg=$alg --block-size=4096 "$f" 2>&1 | cut -d' ' -f1)
		check "fs-verity $alg $size" "$want" "$($RUN "$DIGEST" fsverity-$alg "$f")"
		[ $alg = sha256 ] && check "fs-verity $alg $size (portable code)" "$want" "$(SI_SHA_PORTABLE=1 $RUN "$DIGEST" fsverity-$alg "$f")"
	done
done
# dm-verity root hashes against `veritysetup format`: one block (no tree: the
# block's hash is the root), one and two full hash blocks, a third level;
# no salt, an odd-length and a 32-byte salt, formats 1 (salt first) and 0
command -v veritysetup >/dev/null 2>&1 || { fail=$((fail + 1)); echo "FAIL veritysetup missing"; }
for blocks in 1 2 128 129 $((128 * 128 + 1)); do
	f=$T/d$blocks
	head -c $((blocks * 4096)) /dev/urandom >"$f"
	for salt in - 0a1b2c3d4e5f60 $(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'); do
		for format in 1 0; do
			want=$(veritysetup format --format=$format --data-block-size=4096 --hash-block-size=4096 \
				--hash=sha256 --salt="$salt" "$f" "$T/hash" 2>&1 | sed -n 's/^Root hash:[[:space:]]*//p')
			check "dm-verity $blocks blocks, salt $salt, format $format" "$want" \
				"$($RUN "$DIGEST" dm-verity "$f" "$salt" $format)"
		done
	done
done
# not a whole number of blocks: refused
check "dm-verity of 4097 bytes refused" "1" "$(head -c 4097 /dev/zero >"$T/odd"; $RUN "$DIGEST" dm-verity "$T/odd" - 1 >/dev/null 2>&1; echo $?)"
echo "digests: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
