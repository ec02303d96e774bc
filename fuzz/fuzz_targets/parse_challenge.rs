//! Any WWW-Authenticate value must parse or fail cleanly; whatever parses must also survive
//! choosing and answering it.
#![no_main]

use dialtone::probe::sip::digest::{choose, parse_challenge, DigestRequest};
use dialtone::secret::Secret;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = parse_challenge(text);
    // Several headers at once, split like a registrar sending more than one challenge.
    if let Ok(chosen) = choose(text.split('\n')) {
        let _ = chosen.authorization(
            "user",
            &Secret::new("password"),
            DigestRequest {
                method: "REGISTER",
                uri: "sip:example.net",
                body: b"",
            },
            "cnonce",
            1,
        );
    }
});
