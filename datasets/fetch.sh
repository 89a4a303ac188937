#!/usr/bin/env bash
# fetch.sh - downloads MNIST, Fashion-MNIST, CIFAR-10 and CIFAR-100 from their
# official homes into the layout clnet_dataset_load searches, verifying every file.
#
# Usage: datasets/fetch.sh [-d DIR] [mnist|fashion-mnist|cifar10|cifar100|all]...
# DIR defaults to $CLNET_DATA, else ~/.cache/clnet/datasets. Files already
# present and verified are not downloaded again. Afterwards point clnet at
# the data with: export CLNET_DATA=DIR
set -euo pipefail

say() { echo "fetch.sh: $*"; }
warn() { echo "fetch.sh: $*" >&2; }
die() { echo "fetch.sh: error: $*" >&2; exit 1; }

usage() {
    sed -n '5,8s/^# \{0,1\}//p' "$0"
    exit "${1:-0}"
}

if command -v curl >/dev/null 2>&1; then
    download() { curl -fL --retry 3 --connect-timeout 30 -o "$2" "$1"; }
elif command -v wget >/dev/null 2>&1; then
    download() { wget -q --tries=3 --timeout=30 -O "$2" "$1"; }
else
    die "neither curl nor wget is installed"
fi
for tool in sha256sum md5sum gzip tar; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed"
done

# digest MODE FILE: sha256 or md5 of the file, or md5-content: the MD5 of
# its gunzipped content (what Fashion-MNIST publishes).
digest() {
    case $1 in
        sha256) sha256sum "$2" | cut -d' ' -f1 ;;
        md5) md5sum "$2" | cut -d' ' -f1 ;;
        md5-content) gzip -dc "$2" | md5sum | cut -d' ' -f1 ;;
        *) die "internal: unknown digest $1" ;;
    esac
}

verified() { # MODE SUM FILE
    [[ -f $3 ]] && [[ $(digest "$1" "$3") == "$2" ]]
}

# fetch DEST MODE SUM URL...: the first mirror whose download verifies wins;
# a download lands in DEST.part and is renamed only once it verifies.
fetch() {
    local dest=$1 mode=$2 want=$3 url got
    shift 3
    if verified "$mode" "$want" "$dest"; then
        say "already there: $dest"
        return 0
    fi
    mkdir -p "$(dirname "$dest")"
    for url in "$@"; do
        say "downloading $url"
        if ! download "$url" "$dest.part" </dev/null; then
            warn "download of $url failed; trying the next mirror"
            continue
        fi
        got=$(digest "$mode" "$dest.part") || got="unreadable"
        if [[ $got == "$want" ]]; then
            mv -f "$dest.part" "$dest"
            say "verified $dest ($mode $got)"
            return 0
        fi
        warn "$url: $mode is $got, expected $want; trying the next mirror"
    done
    rm -f "$dest.part"
    die "no mirror gave a verified $(basename "$dest")"
}

# SHA-256 of the original MNIST .gz files (also in ../shared/datasets/README.md).
fetch_mnist() {
    local mirrors=(https://storage.googleapis.com/cvdf-datasets/mnist
                   https://yann.lecun.com/exdb/mnist
                   http://yann.lecun.com/exdb/mnist)
    local name sum m urls
    while read -r sum name; do
        urls=()
        for m in "${mirrors[@]}"; do urls+=("$m/$name"); done
        fetch "$DIR/mnist/$name" sha256 "$sum" "${urls[@]}"
    done <<'EOF'
440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609 train-images-idx3-ubyte.gz
3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c train-labels-idx1-ubyte.gz
8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6 t10k-images-idx3-ubyte.gz
f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6 t10k-labels-idx1-ubyte.gz
EOF
}

# MD5 of the uncompressed content, as Zalando publishes it (distributions
# recompress the .gz files, so only the content is stable).
fetch_fashion() {
    local mirrors=(http://fashion-mnist.s3-website.eu-central-1.amazonaws.com
                   https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion)
    local name sum m urls
    while read -r sum name; do
        urls=()
        for m in "${mirrors[@]}"; do urls+=("$m/$name"); done
        fetch "$DIR/fashion-mnist/$name" md5-content "$sum" "${urls[@]}"
    done <<'EOF'
f4a8712d7a061bf5bd6d2ca38dc4d50a train-images-idx3-ubyte.gz
9018921c3c673c538a1fc5bad174d6f9 train-labels-idx1-ubyte.gz
8181f5470baa50b63fa0f6fddb340f0a t10k-images-idx3-ubyte.gz
15d484375f8d13e6eb1aabb0c3f46965 t10k-labels-idx1-ubyte.gz
EOF
}

# extract TARBALL FOLDER MEMBER...: unpacks only the named members, so a
# tarball cannot write outside DIR/FOLDER.
extract() {
    local tarball=$1 folder=$2 member args=()
    shift 2
    for member in "$@"; do args+=("$folder/$member"); done
    say "unpacking $(basename "$tarball")"
    tar -xzf "$tarball" -C "$DIR" "${args[@]}" || die "cannot unpack $tarball"
}

# The tarball's published MD5, then the SHA-256 of every extracted batch.
fetch_cifar10() {
    local sums name sum names bad=0
    sums=$(cat <<'EOF'
cee916563c9f80d84e3cc88e17fdc0941787f1244f00a67874d45b261883ada5 data_batch_1.bin
a591ca11fa1708a91ee40f54b3da4784ccd871ecf2137de63f51ada8b3fa57ed data_batch_2.bin
bbe8596564c0f86427f876058170b84dac6670ddf06d79402899d93ceea26f67 data_batch_3.bin
014e562d6e23c72197cc727519169a60359f5eccd8945ad5a09d710285ff4e48 data_batch_4.bin
755304fc0b379caeae8c14f0dac912fbc7d6cd469eb67a1029a08a39453a9add data_batch_5.bin
8e2eb146ae340b09e24670f29cabc6326dba54da8789dab6768acf480273f65b test_batch.bin
EOF
)
    while read -r sum name; do
        verified sha256 "$sum" "$DIR/cifar-10-batches-bin/$name" || bad=1
    done <<<"$sums"
    if [[ $bad == 0 ]]; then
        say "already there: $DIR/cifar-10-batches-bin"
        return 0
    fi
    local tarball=$DIR/cifar-10-binary.tar.gz
    fetch "$tarball" md5 c32a1d4ab5d03f1284b67883e8d87530 \
        https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz
    mapfile -t names < <(cut -d' ' -f2 <<<"$sums")
    extract "$tarball" cifar-10-batches-bin batches.meta.txt "${names[@]}"
    while read -r sum name; do
        verified sha256 "$sum" "$DIR/cifar-10-batches-bin/$name" ||
            die "$DIR/cifar-10-batches-bin/$name does not match its SHA-256 $sum"
    done <<<"$sums"
    rm -f "$tarball"
    say "verified $DIR/cifar-10-batches-bin"
}

# No checksums of the extracted files are published: the tarball's MD5
# vouches for them, and their sizes must be whole 3074-byte records.
fetch_cifar100() {
    local folder=$DIR/cifar-100-binary
    if [[ -f $folder/train.bin && -f $folder/test.bin &&
          $(stat -c %s "$folder/train.bin") == 153700000 &&
          $(stat -c %s "$folder/test.bin") == 30740000 ]]; then
        say "already there: $folder"
        return 0
    fi
    local tarball=$DIR/cifar-100-binary.tar.gz
    fetch "$tarball" md5 03b5dce01913d631647c71ecec9e9cb8 \
        https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz
    extract "$tarball" cifar-100-binary train.bin test.bin coarse_label_names.txt \
        fine_label_names.txt
    [[ $(stat -c %s "$folder/train.bin") == 153700000 ]] || die "$folder/train.bin has the wrong size"
    [[ $(stat -c %s "$folder/test.bin") == 30740000 ]] || die "$folder/test.bin has the wrong size"
    rm -f "$tarball"
    say "verified $folder"
}

DIR=${CLNET_DATA:-${XDG_CACHE_HOME:-$HOME/.cache}/clnet/datasets}
while getopts 'd:h' opt; do
    case $opt in
        d) DIR=$OPTARG ;;
        h) usage 0 ;;
        *) usage 2 ;;
    esac
done
shift $((OPTIND - 1))
[[ $# -gt 0 ]] || set -- all
mkdir -p "$DIR" || die "cannot create $DIR"
DIR=$(cd "$DIR" && pwd)

for name in "$@"; do
    case $name in
        mnist) fetch_mnist ;;
        fashion-mnist) fetch_fashion ;;
        cifar10) fetch_cifar10 ;;
        cifar100) fetch_cifar100 ;;
        all) fetch_mnist; fetch_fashion; fetch_cifar10; fetch_cifar100 ;;
        *) warn "unknown dataset '$name'"; usage 2 ;;
    esac
done
say "done; use the data with: export CLNET_DATA=$DIR"
