//! Any bytes a peer can send must give a response or an error, never a panic, also in the
//! accessors the probes call on what parsed.
#![no_main]

use dialtone::probe::sip::parse_response;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(response) = parse_response(data) {
        let _ = response.bindings();
        let _ = response.retry_after();
        let _ = response.expires();
        let _ = response.cseq();
        let _ = response.call_id();
        let _ = response.top_via_branch();
        let challenges: Vec<&str> = response.header_values("www-authenticate").collect();
        let _ = dialtone::probe::sip::digest::choose(challenges);
    }
});
