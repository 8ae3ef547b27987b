//! Server notices from the PostgreSQL driver (`RAISE NOTICE`, warnings). sqlx reports them
//! only as log events (target `sqlx::postgres::notice`), so this installs a `log` logger
//! that keeps them, per thread, while a connection on that thread asks for them. Each
//! server engine drives its driver on the calling thread, so a thread's notices are its
//! connection's. A program that installed its own logger first simply gets no notices.

use std::cell::RefCell;
use std::sync::Once;

const TARGET: &str = "sqlx::postgres::notice";

thread_local! {
    static KEPT: RefCell<Option<Vec<String>>> = const { RefCell::new(None) };
}

struct Keeper;

impl log::Log for Keeper {
    fn enabled(&self, meta: &log::Metadata) -> bool {
        meta.target() == TARGET
            && meta.level() <= log::Level::Info
            && KEPT.with(|k| k.borrow().is_some())
    }

    fn log(&self, record: &log::Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let text = record.args().to_string();
        // tracing forwards the event's field as `message=…` when it is not the format
        // string itself.
        let text = text.strip_prefix("message=").unwrap_or(&text).to_string();
        KEPT.with(|k| {
            if let Some(v) = k.borrow_mut().as_mut() {
                v.push(text);
            }
        });
    }

    fn flush(&self) {}
}

static INSTALL: Once = Once::new();

/// Start or stop keeping notices on this thread.
pub fn collect(on: bool) {
    if on {
        INSTALL.call_once(|| {
            if log::set_logger(&Keeper).is_ok() {
                log::set_max_level(log::LevelFilter::Info);
            }
        });
    }
    KEPT.with(|k| *k.borrow_mut() = on.then(Vec::new));
}

/// The notices kept on this thread since the last call.
pub fn take() -> Vec<String> {
    KEPT.with(|k| {
        k.borrow_mut()
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    })
}
