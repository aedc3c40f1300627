//! Prints the segments of a transcript file: `cargo run -p podsift-transcripts --example
//! dump -- FILE [--normalise]` (format detected from the extension and content).

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(path) = args.get(1) else {
        eprintln!("usage: dump FILE [--normalise]");
        std::process::exit(2);
    };
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(1);
        }
    };
    let Some(format) = podsift_transcripts::detect_format(None, path, &bytes) else {
        eprintln!("{path}: unknown format");
        std::process::exit(1);
    };
    match podsift_transcripts::parse_transcript(&bytes, format) {
        Ok(p) => {
            let segs = if args.iter().any(|a| a == "--normalise") {
                podsift_transcripts::normalise(p.segments)
            } else {
                p.segments
            };
            println!(
                "# {format:?}: {} segments, {} skipped",
                segs.len(),
                p.skipped
            );
            for s in segs {
                println!("{:9.3} {:9.3} {:?} {:?}", s.start, s.end, s.speaker, s.text);
            }
        }
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(1);
        }
    }
}
