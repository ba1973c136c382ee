#!/usr/bin/env bash
# make_corpus.sh OUTDIR — generates, at test time, awkward but valid audio files from a 3 s
# test signal, with Debian's encoders (scripts/apt-packages.txt):
#   apt-get install -y lame sox flac vorbis-tools opus-tools ffmpeg
# tests/it/audio_corpus.rs runs it and decodes every file with soundscribe and with ffmpeg.
# Writes OUTDIR/<name>.<ext> and OUTDIR/manifest.tsv, one line per file, tab-separated:
#   name  kind  frames  reference  what
# frames: the source's length in frames (of its first part for layout-change; 0: none).
# reference: `-` (ffmpeg's decode of the file itself) or `+`-separated corpus files whose
# ffmpeg decodes, joined, are the reference (the links of a chained file, which ffmpeg
# decodes wrongly at the joins, or the same stream without what trips ffmpeg up). kind:
#   lossless       sample-exact against the reference
#   lossy          SNR and duration against the reference
#   untrimmed      lossy, but symphonia 0.5.5 keeps the encoder delay and padding
#   layout-change  rate/channels change inside the file: refused by design after the first part
#   refused        ffmpeg refuses it too: a clear error naming the file
#   unsupported    ffmpeg reads it, soundscribe does not: a clear error naming the format
# The files are deterministic for given encoder versions (fixed serials, sox -R, bitexact).
set -euo pipefail
# Expected noise on stderr: flac and opusenc warn that they skip the 'fact' chunk sox
# writes into WAVE_FORMAT_EXTENSIBLE files.

out=${1:?usage: make_corpus.sh OUTDIR}
for tool in lame sox flac oggenc opusenc ffmpeg; do
    command -v "$tool" >/dev/null || { echo "make_corpus.sh: $tool is missing" >&2; exit 2; }
done
mkdir -p "$out"
cd "$out"
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
: >manifest.tsv
mkdir -p links
# add NAME KIND FRAMES [REFERENCE] WHAT
add() {
    if [ $# -eq 4 ]; then set -- "$1" "$2" "$3" - "$4"; fi
    printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" >>manifest.tsv
}
# ffmpeg with bit-exact muxing (fixed Ogg serials, no random Matroska UIDs); last arg: output.
ff() { ffmpeg -nostdin -hide_banner -loglevel error -y "${@:1:$#-1}" \
    -fflags +bitexact -flags:a +bitexact "${@: -1}"; }

# The test signal: 3 s, a 200 Hz -> 4 kHz sweep on the left, a 523 Hz tone with tremolo on
# the right, faded in and out, at -6 dBFS. -R: sox's dither is repeatable.
sox -V1 -R -n -r 44100 -c 2 -b 16 "$t/sig.wav" synth 3 sine 200-4000 sine 523 \
    tremolo 3 60 fade 0.05 3 0.05 gain -6
sox -V1 -R "$t/sig.wav" -b 24 -r 96000 "$t/sig96k24.wav"
sox -V1 -R "$t/sig.wav" -r 48000 "$t/sig48k.wav"
sox -V1 -R "$t/sig.wav" -c 1 -r 8000 "$t/sig8k1.wav"
sox -V1 -R "$t/sig.wav" "$t/first.wav" trim 0 1.5
sox -V1 -R "$t/sig.wav" "$t/second.wav" trim 1.5
sox -V1 -R "$t/first.wav" -c 1 -r 22050 "$t/first22k1.wav"
sox -V1 -R "$t/sig.wav" -c 6 "$t/sig6ch.wav" remix 1 2 1v0.5,2v0.5 0 1 2
F=132300 # 3 s at 44.1 kHz

# An empty ID3v2.3 tag header: "ID3", v3.0, no flags, size 0.
empty_id3() { printf 'ID3\003\000\000\000\000\000\000'; }
zeros() { head -c "$1" /dev/zero; }

# ---- MP3 ------------------------------------------------------------------------------
lame --quiet -b 128 -t "$t/sig.wav" mp3_cbr_plain.mp3
add mp3_cbr_plain.mp3 lossy $F "CBR 128k, no Xing/LAME frame (baseline)"
lame --quiet -b 128 "$t/sig.wav" "$t/cbr.mp3"
cp "$t/cbr.mp3" mp3_cbr_info.mp3
add mp3_cbr_info.mp3 lossy $F "CBR with Info/LAME frame (encoder delay+padding)"
lame --quiet -V 2 "$t/sig.wav" mp3_vbr_xing.mp3
add mp3_vbr_xing.mp3 lossy $F "VBR -V2 with Xing/LAME frame"
lame --quiet -b 128 --tt Title --ta Artist --id3v2-only --pad-id3v2-size 4096 \
    "$t/sig.wav" mp3_id3v2_padding.mp3
add mp3_id3v2_padding.mp3 lossy $F "ID3v2.3 tag with 4 KiB of padding"
ff -i "$t/cbr.mp3" -c copy -id3v2_version 4 -metadata title=Title -metadata artist=Artist \
    -write_xing 0 mp3_id3v24.mp3
add mp3_id3v24.mp3 lossy $F "ID3v2.4 tag (rewritten by ffmpeg)"
{ empty_id3; zeros 1000; cat "$t/cbr.mp3"; } >mp3_id3v2_size0_padding.mp3
# ffmpeg does not look for the LAME tag past the padding: it decodes the Info frame as audio
# and keeps the encoder delay. The same stream without the tag is the reference.
add mp3_id3v2_size0_padding.mp3 lossy $F mp3_cbr_info.mp3 \
    "empty ID3v2.3 tag (size 0) + 1000 zero bytes"
{ empty_id3; tail -c +11 "$t/cbr.mp3"; } >mp3_id3v2_size0_over_info.mp3
add mp3_id3v2_size0_over_info.mp3 lossy $F \
    "empty ID3v2.3 tag over the Info frame's first 10 bytes (like horse.mp3)"
{ empty_id3; cat mp3_id3v2_padding.mp3; } >mp3_two_id3v2.mp3
add mp3_two_id3v2.mp3 lossy $F "empty ID3v2 tag, then a second ID3v2 tag"
# A TIT2 frame whose flags set bits that ID3v2.3 leaves unused: a tag nobody needs to read.
{ printf 'ID3\003\000\000\000\000\000\024TIT2\000\000\000\006\000\001\000Title'; zeros 4
  cat "$t/cbr.mp3"; } >mp3_id3v2_odd_flags.mp3
add mp3_id3v2_odd_flags.mp3 lossy $F "ID3v2.3 frame with unused flag bits set"
lame --quiet -b 128 --id3v1-only --tt Title --ta Artist "$t/sig.wav" mp3_id3v1.mp3
add mp3_id3v1.mp3 lossy $F "ID3v1 trailer"
lame --quiet -b 128 --add-id3v2 --tt Title --ta Artist "$t/sig.wav" mp3_id3v1_id3v2.mp3
add mp3_id3v1_id3v2.mp3 lossy $F "ID3v2 and ID3v1"
lame --quiet -b 128 -p "$t/sig.wav" mp3_crc.mp3
add mp3_crc.mp3 untrimmed $F "CRC-protected frames (symphonia 0.5.5 misses their LAME tag)"
lame --quiet --freeformat -b 400 "$t/sig.wav" mp3_freeformat.mp3
add mp3_freeformat.mp3 refused 0 "free-format 400 kbit/s (bit-rate index 0)"
lame --quiet -b 16 -m m "$t/sig8k1.wav" mp3_8k_mono.mp3
add mp3_8k_mono.mp3 lossy 24000 "MPEG-2.5, 8 kHz mono"
lame --quiet -V 6 --resample 8 "$t/sig.wav" mp3_8k_vbr.mp3
add mp3_8k_vbr.mp3 lossy 24000 "MPEG-2.5, 8 kHz VBR stereo"
lame --quiet -b 64 --resample 22.05 "$t/sig.wav" mp3_22k_mpeg2.mp3
add mp3_22k_mpeg2.mp3 lossy 66150 "MPEG-2, 22.05 kHz"
ff -i "$t/sig.wav" -c:a mp2 -b:a 192k mp2_layer2.mp2
add mp2_layer2.mp2 unsupported 0 "MPEG-1 layer II (not MP3)"

# ---- Ogg Vorbis -------------------------------------------------------------------------
oggenc -Q -q 4 --serial 1 "$t/sig.wav" -o vorbis.ogg
add vorbis.ogg lossy $F "Ogg Vorbis q4"
oggenc -Q -q 4 --serial 11 "$t/first.wav" -o links/v1.ogg
oggenc -Q -q 4 --serial 12 "$t/second.wav" -o links/v2.ogg
cat links/v1.ogg links/v2.ogg >vorbis_chained.ogg
add vorbis_chained.ogg lossy $F links/v1.ogg+links/v2.ogg \
    "two chained Vorbis streams (1.5 s + 1.5 s), same layout"
oggenc -Q -q 4 --serial 13 "$t/first22k1.wav" -o "$t/v3.ogg"
cat "$t/v3.ogg" links/v2.ogg >vorbis_chained_layout.ogg
add vorbis_chained_layout.ogg layout-change 33075 "chained: 22.05 kHz mono, then 44.1 kHz stereo"
ff -i "$t/sig.wav" -i "$t/sig8k1.wav" -map 0 -map 1 -c:a libvorbis -q:a 4 vorbis_multiplexed.ogg
add vorbis_multiplexed.ogg lossy $F "two concurrent logical Vorbis streams (multiplexed)"
oggenc -Q -q 2 --serial 2 "$t/sig8k1.wav" -o vorbis_8k_mono.ogg
add vorbis_8k_mono.ogg lossy 24000 "Vorbis 8 kHz mono"
ff -i "$t/sig.wav" -c:a libvorbis -q:a 4 vorbis.webm
add vorbis.webm unsupported 0 "Vorbis in WebM (Matroska)"

# ---- Opus -------------------------------------------------------------------------------
opusenc --quiet --serial 3 --bitrate 96 "$t/sig.wav" opus.opus
add opus.opus lossy $F "Ogg Opus 96k (decoded at 48 kHz)"
opusenc --quiet --serial 21 --bitrate 96 "$t/first.wav" links/o1.opus
opusenc --quiet --serial 22 --bitrate 96 "$t/second.wav" links/o2.opus
cat links/o1.opus links/o2.opus >opus_chained.opus
add opus_chained.opus lossy $F links/o1.opus+links/o2.opus "two chained Opus streams"
ff -i "$t/sig.wav" -i "$t/sig8k1.wav" -map 0 -map 1 -c:a libopus -b:a 96k opus_multiplexed.opus
add opus_multiplexed.opus lossy $F "two concurrent logical Opus streams"
opusenc --quiet --serial 4 --bitrate 256 "$t/sig6ch.wav" opus_51.opus
# symphonia-adapter-libopus 0.2.9 decodes mono and stereo Opus only.
add opus_51.opus unsupported 0 "Opus 5.1 (channel mapping family 1)"
ff -i "$t/sig.wav" -c:a libopus -b:a 96k opus.webm
add opus.webm unsupported 0 "Opus in WebM"

# ---- FLAC -------------------------------------------------------------------------------
flac -s --no-preserve-modtime -5 "$t/sig.wav" -o flac_16.flac
add flac_16.flac lossless $F "FLAC 16-bit"
flac -s --no-preserve-modtime --lax -b 1153 "$t/sig.wav" -o flac_block1153.flac
add flac_block1153.flac lossless $F "odd block size 1153 (non-subset)"
flac -s --no-preserve-modtime --lax -b 65535 "$t/sig.wav" -o flac_block65535.flac
add flac_block65535.flac lossless $F "block size 65535, short last block"
flac -s --no-preserve-modtime --lax -b 16 "$t/sig.wav" -o flac_block16.flac
add flac_block16.flac lossless $F "block size 16"
flac -s --no-preserve-modtime -8 "$t/sig96k24.wav" -o flac_24bit_96k.flac
add flac_24bit_96k.flac lossless 288000 "24-bit 96 kHz"
sox -V1 -R "$t/sig.wav" -b 8 "$t/sig8.wav"
flac -s --no-preserve-modtime "$t/sig8.wav" -o flac_8bit.flac
add flac_8bit.flac lossless $F "8-bit"
flac -s --no-preserve-modtime "$t/sig6ch.wav" -o flac_6ch.flac
add flac_6ch.flac lossless $F "6 channels"
flac -s --no-preserve-modtime -c "$t/sig.wav" 2>/dev/null >flac_streamed.flac
add flac_streamed.flac lossless $F "written to a pipe: no total sample count, no MD5"
flac -s --no-preserve-modtime --ogg --serial-number=5 "$t/sig.wav" -o flac.oga
add flac.oga lossless $F "Ogg FLAC"
{ printf 'ID3\003\000\000\000\000\000\024TIT2\000\000\000\006\000\000\000Title'; zeros 4
  cat flac_16.flac; } >flac_id3v2.flac
add flac_id3v2.flac lossless $F "ID3v2 tag before fLaC"
{ empty_id3; cat flac_16.flac; } >flac_id3v2_size0.flac
add flac_id3v2_size0.flac lossless $F "empty ID3v2 tag before fLaC"

# ---- WAV --------------------------------------------------------------------------------
cp "$t/sig.wav" wav_16.wav
add wav_16.wav lossless $F "PCM 16-bit (baseline)"
sox -V1 -R "$t/sig.wav" -b 24 wav_ext_24.wav
add wav_ext_24.wav lossless $F "WAVE_FORMAT_EXTENSIBLE 24-bit"
sox -V1 -R "$t/sig.wav" -e floating-point -b 32 wav_float32.wav
add wav_float32.wav lossless $F "IEEE float 32-bit"
ff -i "$t/sig.wav" -c:a pcm_f64le wav_float64.wav
add wav_float64.wav lossless $F "IEEE float 64-bit, WAVE_FORMAT_EXTENSIBLE"
ff -i "$t/sig.wav" -c:a pcm_f32le wav_ext_float32.wav
add wav_ext_float32.wav lossless $F "IEEE float 32-bit, WAVE_FORMAT_EXTENSIBLE"
cp "$t/sig6ch.wav" wav_ext_6ch.wav
add wav_ext_6ch.wav lossless $F "WAVE_FORMAT_EXTENSIBLE 6 channels with a channel mask"
sox -V1 -R "$t/sig.wav" -b 8 -e unsigned wav_u8.wav
add wav_u8.wav lossless $F "8-bit unsigned"
sox -V1 -R "$t/sig.wav" -e u-law wav_mulaw.wav
add wav_mulaw.wav lossless $F "G.711 mu-law"
sox -V1 -R "$t/sig.wav" -e a-law wav_alaw.wav
add wav_alaw.wav lossless $F "G.711 A-law"
sox -V1 -R "$t/sig.wav" -e ima-adpcm wav_ima_adpcm.wav
add wav_ima_adpcm.wav lossless $F "IMA ADPCM (deterministic decode)"
sox -V1 -R "$t/sig.wav" -e ms-adpcm wav_ms_adpcm.wav
add wav_ms_adpcm.wav lossless $F "Microsoft ADPCM (deterministic decode)"
ff -i "$t/sig.wav" -c:a pcm_s16le -rf64 always wav_rf64.wav
add wav_rf64.wav lossless $F "RF64 (ds64 chunk, RIFF sizes 0xFFFFFFFF)"
ff -i "$t/sig.wav" -c:a pcm_s16le -rf64 auto wav_junk.wav
add wav_junk.wav lossless $F "JUNK chunk before fmt (RF64-ready WAV)"
ff -i "$t/sig.wav" -c:a pcm_s24le -write_bext 1 -metadata description=Test \
    -metadata originator=corpus -metadata time_reference=0 wav_bwf.wav
add wav_bwf.wav lossless $F "BWF: bext chunk, 24-bit"
ff -i "$t/sig.wav" -c:a pcm_s24le -rf64 always -write_bext 1 -metadata description=Test \
    wav_rf64_bwf.wav
add wav_rf64_bwf.wav lossless $F "RF64 + bext, 24-bit"

# ---- AIFF, CAF, MP4 ------------------------------------------------------------------------
sox -V1 -R "$t/sig.wav" aiff_16.aiff
add aiff_16.aiff lossless $F "AIFF 16-bit"
sox -V1 -R "$t/sig.wav" -b 24 aiff_24.aiff
add aiff_24.aiff lossless $F "AIFF 24-bit"
ff -i "$t/sig.wav" -c:a pcm_s16le -f aiff aifc_sowt.aifc
add aifc_sowt.aifc lossless $F "AIFF-C, little-endian 'sowt'"
ff -i "$t/sig.wav" -c:a pcm_f32be -f aiff aifc_fl32.aifc
add aifc_fl32.aifc lossless $F "AIFF-C, float 'fl32'"
ff -i "$t/sig.wav" -c:a pcm_s16be caf_pcm.caf
add caf_pcm.caf unsupported 0 "CAF, PCM"
ff -i "$t/sig.wav" -c:a alac alac.m4a
add alac.m4a unsupported 0 "ALAC in MP4"
ff -i "$t/sig.wav" -c:a aac -b:a 128k aac.m4a
add aac.m4a unsupported 0 "AAC-LC in MP4"
ff -i "$t/sig.wav" -c:a aac -b:a 128k -f adts aac_adts.aac
add aac_adts.aac unsupported 0 "AAC-LC in ADTS"

echo "make_corpus.sh: $(wc -l <manifest.tsv) files in $out"
