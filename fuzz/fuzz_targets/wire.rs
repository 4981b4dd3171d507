//! The wire decoder on arbitrary bytes: a page of jobs or an error, never a panic; every job it
//! yields has a name, gives back its parts, and can be indexed (keys folded) for the cache.
#![no_main]

use libfuzzer_sys::fuzz_target;
use synergy_ls::resolve::cache::Indexed;

fuzz_target!(|data: &[u8]| {
    if let Ok(page) = synergy_ls::api::client::decode_page(data) {
        for job in &page.jobs {
            assert!(!job.name().is_empty());
            let _ = (job.path(), job.created(), job.description());
            let indexed = Indexed::new(std::sync::Arc::new(job.clone()));
            assert_eq!(indexed.key(true).text, job.path().to_lowercase());
            assert_eq!(indexed.key(false).text, job.name().to_lowercase());
        }
    }
});
