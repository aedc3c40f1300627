//! Quantizes a ggml Whisper model (f16/f32) to q8_0, q5_1 or q5_0, as whisper.cpp's
//! `examples/quantize` does: the same tensors (every 2-D tensor but the positional embeddings;
//! the conv layers are 3-D and stay), the same ggml routine (`ggml_quantize_chunk`, linked from
//! the whisper.cpp that podsift runs), the same header (`ftype` with the quantization version).
//! The vendored whisper.cpp ships no `examples/`, so its tool cannot be built from it; the
//! speech-to-text benchmark (`scripts/bench asr-peer`) quantizes the test models with this.
//!
//!     cargo run --release -p podsift-asr --example ggml_quantize -- IN.bin OUT.bin q8_0

use std::io::{BufReader, BufWriter, Read, Write};

use whisper_rs::whisper_rs_sys as sys;

/// ggml's `GGML_QNT_VERSION` and `GGML_QNT_VERSION_FACTOR` (ggml.h).
const QNT_VERSION: i32 = 2;
const QNT_VERSION_FACTOR: i32 = 1000;
/// whisper.cpp's quantize tool leaves these alone.
const SKIP: [&str; 4] = [
    "encoder.conv1.bias",
    "encoder.conv2.bias",
    "encoder.positional_embedding",
    "decoder.positional_embedding",
];

fn read_i32(r: &mut impl Read) -> std::io::Result<i32> {
    let mut b = [0u8; 4];
    r.read_exact(&mut b)?;
    Ok(i32::from_le_bytes(b))
}

fn read_n(r: &mut impl Read, n: usize) -> std::io::Result<Vec<u8>> {
    let mut v = vec![0u8; n];
    r.read_exact(&mut v)?;
    Ok(v)
}

fn count(v: i32, what: &str) -> Result<usize, Box<dyn std::error::Error>> {
    usize::try_from(v).map_err(|_| format!("negative {what}: {v}").into())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, input, output, kind] = args.as_slice() else {
        return Err("usage: ggml_quantize IN.bin OUT.bin q8_0|q5_1|q5_0".into());
    };
    // (ggml_type of the tensors, ggml_ftype of the file)
    let (qtype, ftype) = match kind.as_str() {
        "q8_0" => (sys::ggml_type_GGML_TYPE_Q8_0, 7),
        "q5_1" => (sys::ggml_type_GGML_TYPE_Q5_1, 9),
        "q5_0" => (sys::ggml_type_GGML_TYPE_Q5_0, 8),
        other => return Err(format!("unknown type {other}: q8_0, q5_1 or q5_0").into()),
    };
    let mut r = BufReader::new(std::fs::File::open(input)?);
    let mut w = BufWriter::new(std::fs::File::create(output)?);
    let magic = read_i32(&mut r)?;
    if magic != 0x6767_6d6c {
        return Err(format!("{input} is not a ggml Whisper model").into());
    }
    w.write_all(&magic.to_le_bytes())?;
    // 11 hyper-parameters; the last is ftype.
    for i in 0..11 {
        let v = read_i32(&mut r)?;
        let v = if i == 10 {
            if v % QNT_VERSION_FACTOR > 1 {
                return Err(format!("{input} is already quantized (ftype {v})").into());
            }
            QNT_VERSION * QNT_VERSION_FACTOR + ftype
        } else {
            v
        };
        w.write_all(&v.to_le_bytes())?;
    }
    // Mel filters: rows, columns, f32 values.
    let (rows, cols) = (read_i32(&mut r)?, read_i32(&mut r)?);
    w.write_all(&rows.to_le_bytes())?;
    w.write_all(&cols.to_le_bytes())?;
    w.write_all(&read_n(
        &mut r,
        count(rows, "mel rows")? * count(cols, "mel columns")? * 4,
    )?)?;
    // Vocabulary: count, then (length, bytes) each.
    let tokens = read_i32(&mut r)?;
    w.write_all(&tokens.to_le_bytes())?;
    for _ in 0..count(tokens, "token count")? {
        let len = read_i32(&mut r)?;
        w.write_all(&len.to_le_bytes())?;
        w.write_all(&read_n(&mut r, count(len, "token length")?)?)?;
    }
    let (mut before, mut after) = (0usize, 0usize);
    loop {
        let n_dims = match read_i32(&mut r) {
            Ok(n) => count(n, "dimensions")?,
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(e.into()),
        };
        let name_len = count(read_i32(&mut r)?, "name length")?;
        let ttype = read_i32(&mut r)?;
        let dims: Vec<usize> = (0..n_dims)
            .map(|_| count(read_i32(&mut r)?, "dimension"))
            .collect::<Result<_, _>>()?;
        let name = read_n(&mut r, name_len)?;
        let n: usize = dims.iter().product();
        let elem = match ttype {
            0 => 4,
            1 => 2,
            t => return Err(format!("tensor of type {t}: only f32/f16 models").into()),
        };
        let data = read_n(&mut r, n * elem)?;
        before += data.len();
        let name_str = String::from_utf8_lossy(&name);
        let quantize =
            n_dims == 2 && !SKIP.contains(&name_str.as_ref()) && dims[0].is_multiple_of(32);
        let (out_type, bytes) = if quantize {
            let src: Vec<f32> = if ttype == 0 {
                data.chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect()
            } else {
                let halves: Vec<u16> = data
                    .chunks_exact(2)
                    .map(|c| u16::from_le_bytes([c[0], c[1]]))
                    .collect();
                let mut f = vec![0f32; n];
                // SAFETY: both buffers hold `n` elements.
                unsafe { sys::ggml_fp16_to_fp32_row(halves.as_ptr(), f.as_mut_ptr(), n as i64) };
                f
            };
            let (ne0, ne1) = (dims[0] as i64, dims[1] as i64);
            // SAFETY: plain arithmetic on the type's block size.
            let row = unsafe { sys::ggml_row_size(qtype, ne0) };
            let mut dst = vec![0u8; row * dims[1]];
            // SAFETY: `src` holds ne0*ne1 floats, `dst` ne1 rows of `row` bytes; no imatrix.
            let written = unsafe {
                sys::ggml_quantize_chunk(
                    qtype,
                    src.as_ptr(),
                    dst.as_mut_ptr().cast(),
                    0,
                    ne1,
                    ne0,
                    std::ptr::null(),
                )
            };
            dst.truncate(written);
            (qtype as i32, dst)
        } else {
            (ttype, data)
        };
        after += bytes.len();
        w.write_all(&(n_dims as i32).to_le_bytes())?;
        w.write_all(&(name_len as i32).to_le_bytes())?;
        w.write_all(&out_type.to_le_bytes())?;
        for d in &dims {
            w.write_all(&(*d as i32).to_le_bytes())?;
        }
        w.write_all(&name)?;
        w.write_all(&bytes)?;
    }
    w.flush()?;
    eprintln!(
        "{input} -> {output} ({kind}): tensors {:.1} MB -> {:.1} MB",
        before as f64 / 1e6,
        after as f64 / 1e6
    );
    Ok(())
}
