#!/usr/bin/env bash
# Coffer benchmarks (issue 2). Prints each measurement and the ratios the
# issue sets as targets. Usage: bench/run.sh   (from the repository root)
#
#   COFFER_BENCH_MIB   size of the large file in MiB        (default 1024)
#   COFFER_BENCH_DOCS  documents in the listing benchmark    (default 100000)
#   COFFER_BENCH_RUNS  runs per measurement (median is used) (default 5)
#   COFFER_BENCH_DIR   scratch folder, on the disk to measure (default: a new one in /var/tmp)
#   COFFER_BENCH_SMALL small files in the group-commit benchmark (default 10000)
#   COFFER_BENCH_REKEY documents in the rekey benchmark      (default 2000)
#   COFFER_BENCH_BASE  another coffer binary to time rekey against (e.g. main's)
#   COFFER_BENCH_ONLY  run one part: large, small, rekey or docs (default: all)
#
# Fixed costs (process start, Argon2id, the unlock and lock audit entries) are
# removed by subtracting the same command on an empty file or vault.
set -euo pipefail
cd "$(dirname "$0")/.."
MIB=${COFFER_BENCH_MIB:-1024}
DOCS=${COFFER_BENCH_DOCS:-100000}
RUNS=${COFFER_BENCH_RUNS:-5}
SMALL=${COFFER_BENCH_SMALL:-10000}
ONLY=${COFFER_BENCH_ONLY:-all}
want() { [ "$ONLY" = all ] || [ "$ONLY" = "$1" ]; }
WORK=${COFFER_BENCH_DIR:-$(mktemp -d /var/tmp/coffer-bench.XXXXXX)}
mkdir -p "$WORK"
trap 'rm -rf "$WORK"' EXIT

if ! command -v age >/dev/null || [ ! -x /usr/bin/time ]; then
  apt-get update -qq && apt-get install -y -qq --no-install-recommends age time >/dev/null
fi
cargo build --release -q -p coffer-cli
B=${CARGO_TARGET_DIR:-$PWD/target}/release/coffer
BASE=${COFFER_BENCH_BASE:-}
cd "$WORK"
echo "correct horse battery staple" > pass
# A moderate Argon2id: its time is subtracted anyway, and it sets the memory floor.
KDF=(--kdf-memory-mib 64 --kdf-iterations 1)
C() { "$B" --vault "$1" --passphrase-file pass "${@:2}"; }

# ns of one run of a command (its output discarded, its status ignored)
t() { local s; s=$(date +%s%N); "$@" >/dev/null 2>&1 || true; echo $(( $(date +%s%N) - s )); }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
ms() { awk -v n="$1" 'BEGIN {printf "%.1f", n/1e6}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", a/b}'; }

echo "== machine: $(nproc) cores, $(free -g | awk '/Mem/ {print $2}') GiB, disk: $(df -h . | awk 'NR==2 {print $1}')"
: > empty.bin
if want small; then
echo "== $SMALL files of 4 KiB: coffer add (group commit) vs cp -r + sync (best of $RUNS, alternating)"
mkdir small
python3 - "$SMALL" <<'PY'
import os, sys
for i in range(int(sys.argv[1])):
    with open(f"small/scan-{i:06d}.pdf", "wb") as f:
        f.write(os.urandom(4096))
PY
sync
declare -A S
# Nothing is deleted between measurements: ext4 skips recently freed inodes
# when it allocates, so a measurement right after an `rm -rf` of 10,000
# files pays for it (either side). Every run writes into new folders; they
# go at the end.
for run in $(seq "$RUNS"); do
  sync
  S[cp]+="$(t sh -c "cp -r small cp$run && sync") "
  C sv0_$run init "${KDF[@]}" >/dev/null; sync
  S[add0]+="$(t C sv0_$run add empty.bin) "
  C sv$run init "${KDF[@]}" >/dev/null; sync
  S[add]+="$(t sh -c "cd small && find . -name '*.pdf' -print0 | xargs -0 -n 20000 '$B' --vault ../sv$run --passphrase-file ../pass add >/dev/null") "
done
rm -rf cp[0-9]* sv0_* sv[0-9]*
best() { tr ' ' '\n' | grep . | sort -n | head -1; }
cp_best=$(echo "${S[cp]}" | best); add_best=$(echo "${S[add]}" | best); add0_best=$(echo "${S[add0]}" | best)
small_net=$(( add_best - add0_best ))
echo "cp -r + sync             $(ms "$cp_best")"
echo "coffer add (net)         $(ms $small_net)   [add $(ms "$add_best") - add of an empty file $(ms "$add0_best")]"
echo "documents/s              $(awk -v n="$SMALL" -v t="$small_net" 'BEGIN {printf "%.0f", n/(t/1e9)}')"
echo "RATIO add/cp+sync        $(ratio $small_net "$cp_best")   (target <= 3)"
rm -rf sv; C sv init "${KDF[@]}" >/dev/null
r_one=$( /usr/bin/time -f %M "$B" --vault sv --passphrase-file pass add small/scan-000000.pdf 2>&1 >/dev/null | tail -1)
rm -rf sv; C sv init "${KDF[@]}" >/dev/null
r_all=$( cd small && find . -name '*.pdf' -print0 | xargs -0 -n 20000 /usr/bin/time -f %M "$B" --vault ../sv --passphrase-file ../pass add 2>&1 >/dev/null | tail -1)
echo "peak RSS: one file $r_one KiB, $SMALL files $r_all KiB, growth $(( r_all - r_one )) KiB   (target <= 16384)"
rm -rf sv small
fi
if want large; then
echo "== preparing a ${MIB} MiB random file"
head -c "$((MIB << 20))" /dev/urandom > big.bin
head -c 65536 /dev/urandom > small.bin
age-keygen -o age.key 2>/dev/null
AGE_PUB=$(age-keygen -y age.key)
age -e -r "$AGE_PUB" -o big.age big.bin
: | age -e -r "$AGE_PUB" -o empty.age
C v init "${KDF[@]}" >/dev/null
sync

declare -A T
for run in $(seq "$RUNS"); do
  T[dd]+="$(t dd if=big.bin of=dd.out bs=1M conv=fsync) "; rm -f dd.out
  T[add0]+="$(t C v add empty.bin) "
  T[add]+="$(t C v add big.bin) "
  T[age_e]+="$(t age -e -r "$AGE_PUB" -o out.age big.bin) "; rm -f out.age
  T[age_e_sync]+="$(t sh -c "age -e -r '$AGE_PUB' -o out.age big.bin && sync out.age") "; rm -f out.age
  id=$(C v ls big.bin | head -1 | cut -f1); id0=$(C v ls empty.bin | head -1 | cut -f1)
  T[get0]+="$(t C v get "$id0" --out got0) "; rm -f got0
  T[get]+="$(t C v get "$id" --out got) "; rm -f got
  T[age_d]+="$(t age -d -i age.key -o out.bin big.age) "; rm -f out.bin
  T[age_d0]+="$(t age -d -i age.key -o out.bin empty.age) "; rm -f out.bin
  T[age_d_sync]+="$(t sh -c "age -d -i age.key -o out.bin big.age && sync out.bin") "; rm -f out.bin
  T[share]+="$(t C v share "$id" --to "$AGE_PUB" --out shared.age) "; rm -f shared.age
  C v rm "$id" >/dev/null; C v rm "$id0" >/dev/null
done
declare -A M
for k in "${!T[@]}"; do M[$k]=$(echo "${T[$k]}" | tr ' ' '\n' | grep . | median); done
add_net=$(( ${M[add]} - ${M[add0]} )); get_net=$(( ${M[get]} - ${M[get0]} ))
echo "== import and export of ${MIB} MiB (median of $RUNS runs, ms)"
echo "dd conv=fsync            $(ms "${M[dd]}")"
echo "coffer add (net)         $(ms $add_net)   [add $(ms "${M[add]}") - add of an empty file $(ms "${M[add0]}")]"
echo "age -e                   $(ms "${M[age_e]}")   (no fsync)"
echo "age -e + sync of output  $(ms "${M[age_e_sync]}")"
echo "coffer get (net)         $(ms $get_net)   [get $(ms "${M[get]}") - get of an empty document $(ms "${M[get0]}")]  (includes fsync)"
echo "age -d                   $(ms "${M[age_d]}")   (no fsync; age -d of an empty file: $(ms "${M[age_d0]}"))"
echo "age -d + sync of output  $(ms "${M[age_d_sync]}")"
echo "coffer share            $(ms "${M[share]}")   (decrypt + age -e + fsync, one unlock included)"
echo "RATIO add/dd             $(ratio $add_net "${M[dd]}")   (target <= 1.10)"
echo "RATIO add/age-e          $(ratio $add_net "${M[age_e]}")   (target < 1; with age's output synced too: $(ratio $add_net "${M[age_e_sync]}"))"
echo "RATIO get/age-d          $(ratio $get_net "${M[age_d]}")   (with age's output synced too: $(ratio $get_net "${M[age_d_sync]}"))"

echo "== peak memory (max RSS, KiB)"
rss() { /usr/bin/time -f %M "$B" --vault v --passphrase-file pass add "$1" 2>&1 >/dev/null | tail -1; }
r_small=$(rss small.bin); r_big=$(rss big.bin)
echo "coffer add 64 KiB file   $r_small"
echo "coffer add ${MIB} MiB file  $r_big"
echo "RSS growth               $(( (r_big - r_small) )) KiB   (target <= 8192)"
C v add small.bin >/dev/null
sid=$(C v ls small.bin | head -1 | cut -f1); bid=$(C v ls big.bin | head -1 | cut -f1)
srss() { /usr/bin/time -f %M "$B" --vault v --passphrase-file pass share "$1" --to "$AGE_PUB" --out shared.age 2>&1 >/dev/null | tail -1; rm -f shared.age; }
s_small=$(srss "$sid"); s_big=$(srss "$bid")
echo "coffer share 64 KiB      $s_small"
echo "coffer share ${MIB} MiB     $s_big"
echo "share RSS growth         $(( (s_big - s_small) )) KiB   (target <= 8192)"
rm -rf v

fi
if want rekey; then
REKEY=${COFFER_BENCH_REKEY:-2000}
echo "== coffer rekey of $REKEY documents of 4 KiB (median of $RUNS runs, alternating; net of a rekey of an empty vault)"
mkdir rk
python3 - "$REKEY" <<'PY'
import os, sys
for i in range(int(sys.argv[1])):
    with open(f"rk/scan-{i:06d}.pdf", "wb") as f:
        f.write(os.urandom(4096))
PY
C rkv init "${KDF[@]}" >/dev/null
(cd rk && find . -name '*.pdf' -print0 | xargs -0 -n 20000 "$B" --vault ../rkv --passphrase-file ../pass add >/dev/null)
C rk0 init "${KDF[@]}" >/dev/null
sync
declare -A R
for run in $(seq "$RUNS"); do
  R[rekey0]+="$(t C rk0 rekey) "
  R[rekey]+="$(t C rkv rekey) "
  if [ -n "$BASE" ]; then
    R[base0]+="$(t "$BASE" --vault rk0 --passphrase-file pass rekey) "
    R[base]+="$(t "$BASE" --vault rkv --passphrase-file pass rekey) "
  fi
done
declare -A RM
for k in "${!R[@]}"; do RM[$k]=$(echo "${R[$k]}" | tr ' ' '\n' | grep . | median); done
rk_net=$(( ${RM[rekey]} - ${RM[rekey0]} ))
echo "coffer rekey (net)       $(ms $rk_net)   [rekey $(ms "${RM[rekey]}") - rekey of an empty vault $(ms "${RM[rekey0]}")]  $(awk -v n="$REKEY" -v t="$rk_net" 'BEGIN {printf "%.0f", n/(t/1e9)}') documents/s"
if [ -n "$BASE" ]; then
  base_net=$(( ${RM[base]} - ${RM[base0]} ))
  echo "$BASE rekey (net)  $(ms $base_net)   [rekey $(ms "${RM[base]}") - empty $(ms "${RM[base0]}")]  $(awk -v n="$REKEY" -v t="$base_net" 'BEGIN {printf "%.0f", n/(t/1e9)}') documents/s"
  echo "RATIO rekey/base         $(ratio $rk_net $base_net)"
fi
C rkv verify >/dev/null
rm -rf rk rkv rk0
fi
want docs || exit 0
echo "== $DOCS documents"
mkdir docs
python3 - "$DOCS" <<'PY'
import os, sys
n = int(sys.argv[1])
for i in range(n):
    with open(f"docs/doc-{i:06d}.txt", "wb") as f:
        f.write(os.urandom(256 + (i * 7919) % 3840))
PY
C big init "${KDF[@]}" >/dev/null
C empty init "${KDF[@]}" >/dev/null
s=$(date +%s%N)
(cd docs && find . -name '*.txt' -print0 | xargs -0 -n 5000 "$B" --vault ../big --passphrase-file ../pass add --tag bench >/dev/null)
seed=$(( $(date +%s%N) - s ))
echo "seeding: $DOCS documents in $(ms $seed) ms ($(awk -v n="$DOCS" -v t="$seed" 'BEGIN {printf "%.0f", n/(t/1e9)}') documents/s, each blob fsynced)"
echo "== unlock, listing and search over $DOCS documents (in process, each phase on its own)"
cd - >/dev/null
COFFER_BENCH_VAULT="$WORK/big" COFFER_BENCH_PASSFILE="$WORK/pass" cargo bench -q -p coffer-core --bench catalog
cd "$WORK"
echo "== the same through the CLI, whole processes (median of $RUNS runs)"
NOID=00000000000000000000000000000000
declare -A L
for run in $(seq "$RUNS"); do
  L[unlock0]+="$(t C empty get $NOID --out x) "
  L[unlock]+="$(t C big get $NOID --out x) "
  L[ls]+="$(t C big ls) "
  L[search]+="$(t C big ls doc-0999) "
done
declare -A N
for k in "${!L[@]}"; do N[$k]=$(echo "${L[$k]}" | tr ' ' '\n' | grep . | median); done
echo "coffer get (unknown id), empty vault   $(ms "${N[unlock0]}") ms   (process + Argon2id + audit entries)"
echo "coffer get (unknown id), $DOCS docs  $(ms "${N[unlock]}") ms"
echo "coffer ls, $DOCS docs                 $(ms "${N[ls]}") ms"
echo "coffer ls doc-0999, $DOCS docs        $(ms "${N[search]}") ms"
