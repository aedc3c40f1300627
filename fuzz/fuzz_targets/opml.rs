//! OPML on arbitrary bytes: never panics, and (as `write_opml` documents) what it reads
//! writes back to a document that parses to the same list.
#![no_main]

use libfuzzer_sys::fuzz_target;
use podsift_feeds::opml::{parse_opml, write_opml};

fuzz_target!(|data: &[u8]| {
    let Ok(outlines) = parse_opml(data) else {
        return;
    };
    let written = write_opml("podsift", &outlines);
    match parse_opml(written.as_bytes()) {
        Ok(back) => assert_eq!(back, outlines, "round trip changed the list:\n{written}"),
        Err(e) => panic!("written OPML does not parse back ({e}):\n{written}"),
    }
});
