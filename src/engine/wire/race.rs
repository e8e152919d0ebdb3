//! A race between a busy future and rare ones: a request's exchange, woken by every streamed
//! chunk, against its timeout, the run's stop and a search's cut, which fire once if ever.
//! `tokio::select!` polls every branch at each wake-up, so each chunk would also poll a timer
//! and two watch channels; [`race`] polls the rare side only after one of its own wakers fired.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

/// Which side finished first.
pub enum Won<A, B> {
    Busy(A),
    Rare(B),
}

/// Runs `busy` until it ends or `rare` does, whichever is first; the other is dropped.
pub async fn race<A: Future, B: Future>(busy: A, rare: B) -> Won<A::Output, B::Output> {
    let flag = Arc::new(Flag {
        woken: AtomicBool::new(true),
        outer: Mutex::new(None),
    });
    Race {
        busy: Box::pin(busy),
        rare: Box::pin(rare),
        waker: Waker::from(flag.clone()),
        flag,
    }
    .await
}

/// Set when the rare side's waker fires; wakes the task that polls the race.
struct Flag {
    woken: AtomicBool,
    outer: Mutex<Option<Waker>>,
}

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        if let Ok(outer) = self.outer.lock() {
            if let Some(w) = outer.as_ref() {
                w.wake_by_ref();
            }
        }
    }
}

struct Race<A: Future, B: Future> {
    busy: Pin<Box<A>>,
    rare: Pin<Box<B>>,
    /// The waker the rare side is polled with.
    waker: Waker,
    flag: Arc<Flag>,
}

impl<A: Future, B: Future> Future for Race<A, B> {
    type Output = Won<A::Output, B::Output>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Ok(mut outer) = self.flag.outer.lock() {
            if !outer.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                *outer = Some(cx.waker().clone());
            }
        }
        if let Poll::Ready(a) = self.busy.as_mut().poll(cx) {
            return Poll::Ready(Won::Busy(a));
        }
        if self.flag.woken.swap(false, Ordering::AcqRel) {
            let waker = self.waker.clone();
            let mut rare_cx = Context::from_waker(&waker);
            if let Poll::Ready(b) = self.rare.as_mut().poll(&mut rare_cx) {
                return Poll::Ready(Won::Rare(b));
            }
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn the_rare_side_wins_when_it_fires_and_is_polled_only_then() {
        let polls = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let counted = {
            let polls = polls.clone();
            std::future::poll_fn(move |_| {
                polls.fetch_add(1, Ordering::Relaxed);
                Poll::<()>::Pending
            })
        };
        let rare = async {
            counted.await;
        };
        // The busy side is woken 50 times; the rare side, never woken, is polled once.
        let busy = async {
            for _ in 0..50 {
                tokio::task::yield_now().await;
            }
            7
        };
        match race(busy, rare).await {
            Won::Busy(v) => assert_eq!(v, 7),
            Won::Rare(()) => panic!("the rare side never ends"),
        }
        assert_eq!(polls.load(Ordering::Relaxed), 1);
        // A timer on the rare side still ends a busy side that never does.
        let stuck = std::future::pending::<()>();
        let won = race(stuck, tokio::time::sleep(Duration::from_millis(20))).await;
        assert!(matches!(won, Won::Rare(())));
    }
}
