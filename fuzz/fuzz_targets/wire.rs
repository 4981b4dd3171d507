//! The wire decoder on arbitrary bytes: a page of jobs or an error, never a panic; every job it
//! yields has a name.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(page) = synergy_ls::api::client::decode_page(data) {
        for job in &page.jobs {
            assert!(!job.name().is_empty());
        }
    }
});
