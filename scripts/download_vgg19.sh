#!/usr/bin/env bash
# Download MatConvNet's VGG-19 weights into the repository's weights/ folder, resuming a
# partial download and verifying the SHA-256 before the file takes its final name.
set -euo pipefail

readonly DEFAULT_URL="https://www.vlfeat.org/matconvnet/models/imagenet-vgg-verydeep-19.mat"
readonly DEFAULT_SHA256="abdb57167f82a2a1fbab1e1c16ad9373411883f262a1a37ee5db2e6fb0044695"
readonly FILE_NAME="imagenet-vgg-verydeep-19.mat"
readonly PROG="download_vgg19.sh"

usage() {
    cat <<EOF
Usage: $PROG [--help]

Downloads the VGG-19 weights (MatConvNet's $FILE_NAME, 535 MB) into the
repository's weights/ folder, wherever this script is run from.

  - An interrupted download is kept as $FILE_NAME.part and resumed by the
    next run.
  - The SHA-256 is checked before the file is renamed to its final name; on a mismatch
    the partial file is deleted and the script exits non-zero.
  - A verified copy already in place is left alone. A copy that does not verify is moved
    aside (to ${FILE_NAME%.mat}.mismatch.mat) and downloaded again.

Messages go to stderr; on success the file's path is the only line on stdout.

Environment (all optional):
  STYLIZE_VGG19_URL     where to download from, default
                        $DEFAULT_URL
  STYLIZE_VGG19_SHA256  expected SHA-256, 64 hex digits (default: the official file's)
  STYLIZE_WEIGHTS_DIR   destination folder, created if needed (default: <repo>/weights)
  STYLIZE_DOWNLOADER    curl or wget (default: curl if installed, else wget)

Exit status: 0 the verified file is in place, 1 download or verification failed,
2 bad usage or a missing tool.
EOF
}

say() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() {
    local status=$1
    shift
    say "error: $*"
    exit "$status"
}

if (($# == 1)) && [[ $1 == -h || $1 == --help ]]; then
    usage
    exit 0
fi
if (($# > 0)); then
    usage >&2
    die 2 "unexpected argument(s): $*"
fi

# --- settings ---------------------------------------------------------------------------

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
url=${STYLIZE_VGG19_URL:-$DEFAULT_URL}
expected=${STYLIZE_VGG19_SHA256:-$DEFAULT_SHA256}
weights_dir=${STYLIZE_WEIGHTS_DIR:-$script_dir/../weights}

[[ $expected =~ ^[0-9a-fA-F]{64}$ ]] ||
    die 2 "STYLIZE_VGG19_SHA256 must be 64 hexadecimal digits, got '$expected'"

# Pick every tool before downloading anything: a missing checksum tool found only after
# 535 MB have arrived would waste the download.
if command -v sha256sum >/dev/null 2>&1; then
    hasher=(sha256sum)
elif command -v shasum >/dev/null 2>&1; then
    hasher=(shasum -a 256)
else
    die 2 "neither sha256sum nor shasum is installed; install coreutils or perl's shasum"
fi

downloader=${STYLIZE_DOWNLOADER:-}
case $downloader in
    curl | wget)
        command -v "$downloader" >/dev/null 2>&1 ||
            die 2 "STYLIZE_DOWNLOADER=$downloader, but $downloader is not installed"
        ;;
    "")
        if command -v curl >/dev/null 2>&1; then
            downloader=curl
        elif command -v wget >/dev/null 2>&1; then
            downloader=wget
        else
            die 2 "neither curl nor wget is installed; install one of them"
        fi
        ;;
    *) die 2 "STYLIZE_DOWNLOADER must be 'curl' or 'wget', got '$downloader'" ;;
esac

mkdir -p -- "$weights_dir"
weights_dir=$(cd "$weights_dir" && pwd)
dest=$weights_dir/$FILE_NAME
part=$dest.part
aside=$weights_dir/${FILE_NAME%.mat}.mismatch.mat

# --- helpers ----------------------------------------------------------------------------

# Prints the file's SHA-256. Reading from stdin keeps odd file names out of the output.
sha256_of() {
    local out
    out=$("${hasher[@]}" <"$1") || return 1
    printf '%s\n' "${out%% *}"
}

# True when the file's SHA-256 is the expected one (hex digits compared case-insensitively).
verifies() {
    local actual status=0
    actual=$(sha256_of "$1") || return 1
    shopt -s nocasematch
    [[ $actual == "$expected" ]] || status=1
    shopt -u nocasematch
    return "$status"
}

# Appends to $part whatever of $url it does not hold yet.
fetch() {
    local quiet=true
    [[ -t 2 ]] && quiet=false
    if [[ $downloader == curl ]]; then
        local curl_progress=(--progress-bar)
        $quiet && curl_progress=(--silent --show-error)
        curl --fail --location --retry 3 "${curl_progress[@]}" --continue-at - \
            --output "$part" "$url"
    else
        local wget_progress=--progress=bar
        $quiet && wget_progress=--progress=dot:giga
        wget --continue --tries=3 "$wget_progress" --output-document="$part" "$url"
    fi
}

# --- main -------------------------------------------------------------------------------

if [[ -e $dest ]]; then
    say "checking the SHA-256 of $dest"
    if verifies "$dest"; then
        say "$dest is already there and verified; nothing to do"
        printf '%s\n' "$dest"
        exit 0
    fi
    mv -f -- "$dest" "$aside"
    say "$dest does not match the expected SHA-256; moved it to $aside" \
        "(delete it if you don't need it) and downloading again"
fi

if [[ -s $part ]]; then
    say "resuming $part from $url with $downloader"
else
    say "downloading $url to $part with $downloader"
fi

status=0
fetch || status=$?
if ((status != 0)); then
    if [[ -s $part ]]; then
        die 1 "$downloader failed (exit $status); the partial file $part was kept:" \
            "run again to resume, or delete it to start over"
    fi
    rm -f -- "$part"
    die 1 "$downloader failed (exit $status) to download $url"
fi

say "checking the SHA-256 of the download"
if ! verifies "$part"; then
    actual=$(sha256_of "$part") || actual="(could not be computed)"
    rm -f -- "$part"
    die 1 "SHA-256 mismatch for $url: expected $expected, got $actual;" \
        "deleted the download, run again to retry"
fi

mv -f -- "$part" "$dest"
say "verified and saved"
printf '%s\n' "$dest"
