#!/usr/bin/env python3
"""Convert a CTranslate2 Whisper model (faster-whisper format) to whisper.cpp's ggml format.

Why: the only Whisper weights reachable from package registries are CTranslate2 copies, and
whisper.cpp loads only ggml. Standard library only (no numpy, no torch), so the test set-up
needs nothing beyond python3.

    ct2-to-ggml.py --model-dir DIR --mel-filters mel_filters.npz --tokens gpt2.tiktoken --out ggml-tiny.en.bin

DIR holds CTranslate2's `model.bin` (float16 or float32 weights). `mel_filters.npz` and the
`*.tiktoken` vocabulary come from the openai-whisper source package (whisper/assets/):
`gpt2.tiktoken` for English-only models, `multilingual.tiktoken` for the others.

The ggml layout (as whisper.cpp's models/convert-pt-to-ggml.py writes it): magic, 11 int32
hyper-parameters, the mel filter bank, the vocabulary (raw token bytes), then every tensor as
(n_dims, name length, type, dims reversed, name, data). Tensor names are the PyTorch ones.
CTranslate2 fuses the attention projections (self-attention q|k|v in `linear_0`, cross-
attention k|v in `linear_1`) and stores a zero bias for the key; they are split here and the
key bias dropped, since Whisper's key projection has none.
"""

import argparse
import ast
import base64
import struct
import sys
import zipfile

GGML_MAGIC = 0x67676D6C
CT2_F32, CT2_F16 = 0, 4


class Var:
    def __init__(self, dims, dtype, data):
        self.dims, self.dtype, self.data = list(dims), dtype, data

    def rows(self, start, count):
        """Rows [start, start+count) of a 2-D (or 1-D) variable, as a new Var."""
        item = 2 if self.dtype == CT2_F16 else 4
        per_row = item * (self.dims[1] if len(self.dims) > 1 else 1)
        dims = [count] + self.dims[1:]
        return Var(dims, self.dtype, self.data[start * per_row:(start + count) * per_row])


def read_ct2(path):
    with open(path, "rb") as f:
        buf = f.read()
    pos = 0

    def take(n):
        nonlocal pos
        if pos + n > len(buf):
            sys.exit(f"{path}: truncated CTranslate2 model")
        out = buf[pos:pos + n]
        pos += n
        return out

    def u32():
        return struct.unpack("<I", take(4))[0]

    def string():
        n = struct.unpack("<H", take(2))[0]
        return take(n).rstrip(b"\0").decode()

    version = u32()
    if version < 5:
        sys.exit(f"{path}: CTranslate2 binary version {version} is not supported (need >= 5)")
    spec = string()
    u32()  # spec revision
    if spec != "WhisperSpec":
        sys.exit(f"{path}: not a Whisper model (spec {spec!r})")
    variables = {}
    for _ in range(u32()):
        name = string()
        rank = take(1)[0]
        dims = struct.unpack(f"<{rank}I", take(4 * rank)) if rank else ()
        dtype = take(1)[0]
        nbytes = u32()
        variables[name] = Var(dims, dtype, take(nbytes))
    for _ in range(u32()):
        alias, target = string(), string()
        variables[alias] = variables[target]
    return variables


def read_npz_array(path, key):
    """One float32 array from an .npz (a zip of .npy files): (shape, raw little-endian bytes)."""
    with zipfile.ZipFile(path) as z:
        raw = z.read(key + ".npy")
    if raw[:6] != b"\x93NUMPY":
        sys.exit(f"{path}:{key} is not an .npy array")
    major = raw[6]
    hlen_size = 2 if major == 1 else 4
    hlen = int.from_bytes(raw[8:8 + hlen_size], "little")
    header = ast.literal_eval(raw[8 + hlen_size:8 + hlen_size + hlen].decode("latin1"))
    if header["descr"] != "<f4" or header["fortran_order"]:
        sys.exit(f"{path}:{key}: expected C-order little-endian float32, got {header}")
    return tuple(header["shape"]), raw[8 + hlen_size + hlen:]


def read_tiktoken(path):
    tokens = []
    with open(path, "rb") as f:
        for line in f:
            line = line.strip()
            if line:
                token, rank = line.split()
                tokens.append((int(rank), base64.b64decode(token)))
    tokens.sort()
    if [r for r, _ in tokens] != list(range(len(tokens))):
        sys.exit(f"{path}: token ranks are not 0..n-1")
    return [t for _, t in tokens]


def f16_to_f32(data):
    n = len(data) // 2
    return struct.pack(f"<{n}f", *struct.unpack(f"<{n}e", data))


def scalar_i(var):
    fmt = {1: "<b", 2: "<h", 4: "<i"}[len(var.data)]
    return struct.unpack(fmt, var.data)[0]


def convert(args):
    v = read_ct2(f"{args.model_dir}/model.bin")

    def get(name):
        if name not in v:
            sys.exit(f"model.bin has no variable {name}")
        return v[name]

    n_audio_layer = sum(1 for k in v if k.startswith("encoder/layer_") and k.endswith("/ffn/linear_0/weight"))
    n_text_layer = sum(1 for k in v if k.startswith("decoder/layer_") and k.endswith("/ffn/linear_0/weight"))
    n_vocab, n_text_state = get("decoder/embeddings/weight").dims
    n_audio_ctx, n_audio_state = get("encoder/position_encodings/encodings").dims
    n_text_ctx = get("decoder/position_encodings/encodings").dims[0]
    n_mels = get("encoder/conv1/weight").dims[1]
    n_audio_head = scalar_i(get("encoder/num_heads"))
    n_text_head = scalar_i(get("decoder/num_heads"))

    tensors = []  # (name, Var)

    def put(name, var):
        tensors.append((name, var))

    def linear(prefix, var_prefix, bias=True):
        put(f"{prefix}.weight", get(f"{var_prefix}/weight"))
        if bias:
            put(f"{prefix}.bias", get(f"{var_prefix}/bias"))

    def norm(prefix, var_prefix):
        put(f"{prefix}.weight", get(f"{var_prefix}/gamma"))
        put(f"{prefix}.bias", get(f"{var_prefix}/beta"))

    def split(var_prefix, parts):
        """Split a fused projection into `parts` equal row blocks (weights and biases)."""
        w, b = get(f"{var_prefix}/weight"), get(f"{var_prefix}/bias")
        rows = w.dims[0] // parts
        return [(w.rows(i * rows, rows), b.rows(i * rows, rows)) for i in range(parts)]

    def attn(prefix, var_prefix, fused_qkv):
        if fused_qkv:
            (qw, qb), (kw, _kb), (vw, vb) = split(f"{var_prefix}/linear_0", 3)
            out = f"{var_prefix}/linear_1"
        else:
            qw, qb = get(f"{var_prefix}/linear_0/weight"), get(f"{var_prefix}/linear_0/bias")
            (kw, _kb), (vw, vb) = split(f"{var_prefix}/linear_1", 2)
            out = f"{var_prefix}/linear_2"
        put(f"{prefix}.query.weight", qw)
        put(f"{prefix}.query.bias", qb)
        put(f"{prefix}.key.weight", kw)
        put(f"{prefix}.value.weight", vw)
        put(f"{prefix}.value.bias", vb)
        linear(f"{prefix}.out", out)

    put("encoder.positional_embedding", get("encoder/position_encodings/encodings"))
    linear("encoder.conv1", "encoder/conv1")
    linear("encoder.conv2", "encoder/conv2")
    for i in range(n_audio_layer):
        p, q = f"encoder.blocks.{i}", f"encoder/layer_{i}"
        attn(f"{p}.attn", f"{q}/self_attention", fused_qkv=True)
        norm(f"{p}.attn_ln", f"{q}/self_attention/layer_norm")
        linear(f"{p}.mlp.0", f"{q}/ffn/linear_0")
        linear(f"{p}.mlp.2", f"{q}/ffn/linear_1")
        norm(f"{p}.mlp_ln", f"{q}/ffn/layer_norm")
    norm("encoder.ln_post", "encoder/layer_norm")

    put("decoder.positional_embedding", get("decoder/position_encodings/encodings"))
    put("decoder.token_embedding.weight", get("decoder/embeddings/weight"))
    for i in range(n_text_layer):
        p, q = f"decoder.blocks.{i}", f"decoder/layer_{i}"
        attn(f"{p}.attn", f"{q}/self_attention", fused_qkv=True)
        norm(f"{p}.attn_ln", f"{q}/self_attention/layer_norm")
        attn(f"{p}.cross_attn", f"{q}/attention", fused_qkv=False)
        norm(f"{p}.cross_attn_ln", f"{q}/attention/layer_norm")
        linear(f"{p}.mlp.0", f"{q}/ffn/linear_0")
        linear(f"{p}.mlp.2", f"{q}/ffn/linear_1")
        norm(f"{p}.mlp_ln", f"{q}/ffn/layer_norm")
    norm("decoder.ln", "decoder/layer_norm")

    (mel_rows, mel_cols), mel = read_npz_array(args.mel_filters, f"mel_{n_mels}")
    tokens = read_tiktoken(args.tokens)
    if len(tokens) >= n_vocab:
        sys.exit(f"{args.tokens} has {len(tokens)} tokens, more than the model's {n_vocab}")

    with open(args.out + ".part", "wb") as out:
        out.write(struct.pack("<i", GGML_MAGIC))
        out.write(struct.pack("<11i", n_vocab, n_audio_ctx, n_audio_state, n_audio_head, n_audio_layer,
                              n_text_ctx, n_text_state, n_text_head, n_text_layer, n_mels, 1))
        out.write(struct.pack("<2i", mel_rows, mel_cols))
        out.write(mel)
        out.write(struct.pack("<i", len(tokens)))
        for t in tokens:
            out.write(struct.pack("<i", len(t)))
            out.write(t)
        for name, var in tensors:
            dims = list(var.dims)
            if name in ("encoder.conv1.bias", "encoder.conv2.bias"):
                dims = [dims[0], 1]
            # whisper.cpp keeps 1-D tensors, conv biases and positional embeddings in f32 and
            # everything else in f16 (the same rule as its own converter).
            want_f32 = len(dims) < 2 or name.endswith("conv1.bias") or name.endswith("conv2.bias") \
                or name.endswith("positional_embedding")
            if var.dtype == CT2_F16:
                data, ftype = (f16_to_f32(var.data), 0) if want_f32 else (var.data, 1)
            elif var.dtype == CT2_F32:
                n = len(var.data) // 4
                data, ftype = (var.data, 0) if want_f32 else \
                    (struct.pack(f"<{n}e", *struct.unpack(f"<{n}f", var.data)), 1)
            else:
                sys.exit(f"{name}: CTranslate2 dtype {var.dtype} not supported (need float16 or float32;"
                         " quantized int8 models cannot be converted)")
            encoded = name.encode()
            out.write(struct.pack("<3i", len(dims), len(encoded), ftype))
            out.write(struct.pack(f"<{len(dims)}i", *reversed(dims)))
            out.write(encoded)
            out.write(data)
    import os
    os.replace(args.out + ".part", args.out)
    print(f"wrote {args.out}: {len(tensors)} tensors, n_vocab {n_vocab}, {n_audio_layer}+{n_text_layer} layers,"
          f" {n_mels} mels", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model-dir", required=True)
    ap.add_argument("--mel-filters", required=True)
    ap.add_argument("--tokens", required=True)
    ap.add_argument("--out", required=True)
    convert(ap.parse_args())


if __name__ == "__main__":
    main()
