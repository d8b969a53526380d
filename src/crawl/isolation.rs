//! One page's work cannot end a run: a panic while reading or storing a page becomes that page's
//! failure, with its address and the panic's message.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};

use super::CrawlError;

/// Runs the work of one page at `url`; a panic inside comes back as an error naming both.
pub(crate) fn run_page<T>(
    url: &str,
    work: impl FnOnce() -> Result<T, CrawlError>,
) -> Result<T, CrawlError> {
    // After a panic the page's own data is dropped; what the work shares (a run report) may
    // hold a partial update for that page, which the recorded failure explains.
    catch_unwind(AssertUnwindSafe(work)).unwrap_or_else(|panic| Err(panicked(url, &*panic)))
}

/// The failure recorded for a page whose work panicked.
pub(crate) fn panicked(url: &str, panic: &(dyn Any + Send)) -> CrawlError {
    let message = panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("no message");
    CrawlError::Panicked {
        url: url.to_string(),
        message: message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_the_pages_failure() {
        let url = "http://127.0.0.1/article?id=7";
        let result: Result<(), CrawlError> = run_page(url, || panic!("index 9 out of range"));
        assert_eq!(
            result.unwrap_err().to_string(),
            format!("{url}: processing the page panicked: index 9 out of range")
        );
        let formatted: Result<(), CrawlError> = run_page(url, || panic!("depth {}", 300));
        assert_eq!(
            formatted.unwrap_err().to_string(),
            format!("{url}: processing the page panicked: depth 300")
        );
    }

    #[test]
    fn results_pass_through() {
        assert_eq!(run_page("u", || Ok::<_, CrawlError>(5)).unwrap(), 5);
        let refused = run_page("u", || {
            Err::<(), _>(CrawlError::NotUrl {
                url: "no title".into(),
            })
        });
        assert_eq!(refused.unwrap_err().to_string(), "no title: not a URL");
    }
}
