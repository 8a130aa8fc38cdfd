//! Stream state: the frames, where each direction of each filter stands, and the per-request
//! run state (queues, sinks, pending async events).

use super::super::host::HttpState;
use super::super::trace::{ClientResponse, Message, RequestReport};
use super::callouts::Ready;
use super::input::{HttpMock, Response};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

/// Decoder (request, chain order) or encoder (response, reverse order) side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dir {
    Dec,
    Enc,
}

impl Dir {
    /// The host's maps and buffers are indexed by "is this the response".
    pub(crate) fn is_response(self) -> bool {
        self == Dir::Enc
    }
}

#[derive(Debug, Clone)]
pub(crate) enum Frame {
    Headers { eos: bool },
    Data { bytes: Vec<u8>, eos: bool },
    Trailers,
}

/// Body bytes a filter keeps, with the end-of-stream flag of the last chunk they came with.
#[derive(Debug, Clone, Default)]
pub(crate) struct Body {
    pub bytes: Vec<u8>,
    pub eos: bool,
}

/// Where one direction of one filter stands between callbacks.
#[derive(Debug, Clone)]
pub(crate) enum DirState {
    /// Frames reach the callbacks. `buffered`: the body a data callback kept
    /// (StopIterationAndBuffer / Watermark); `trailers_stopped`: the trailers callback stopped.
    Open {
        buffered: Option<Body>,
        trailers_stopped: bool,
    },
    /// The headers callback stopped all iteration: the headers (and their end_of_stream) wait
    /// for a resume, and later frames are held here without reaching the callbacks.
    HeadersStopped {
        eos: bool,
        held: Option<Body>,
        held_trailers: bool,
    },
}

impl Default for DirState {
    fn default() -> Self {
        DirState::Open {
            buffered: None,
            trailers_stopped: false,
        }
    }
}

impl DirState {
    /// The body the filter is buffering (None while headers are stopped).
    pub(crate) fn buffered(&self) -> Option<&Body> {
        match self {
            DirState::Open { buffered, .. } => buffered.as_ref(),
            DirState::HeadersStopped { .. } => None,
        }
    }

    /// Sets the buffered body, keeping whether trailers were stopped.
    pub(crate) fn set_buffered(&mut self, body: Option<Body>) {
        match self {
            DirState::Open { buffered, .. } => *buffered = body,
            DirState::HeadersStopped { .. } => {
                *self = DirState::Open {
                    buffered: body,
                    trailers_stopped: false,
                }
            }
        }
    }

    pub(crate) fn take_buffered(&mut self) -> Option<Body> {
        match self {
            DirState::Open { buffered, .. } => buffered.take(),
            DirState::HeadersStopped { .. } => None,
        }
    }

    pub(crate) fn stop_trailers(&mut self) {
        if let DirState::Open {
            trailers_stopped, ..
        } = self
        {
            *trailers_stopped = true;
        }
    }

    /// Holds a frame that arrived while the headers are stopped; gives it back otherwise.
    pub(crate) fn hold(&mut self, frame: Frame) -> Option<Frame> {
        let DirState::HeadersStopped {
            held,
            held_trailers,
            ..
        } = self
        else {
            return Some(frame);
        };
        match frame {
            Frame::Data { bytes, eos } => {
                let body = held.get_or_insert_with(Body::default);
                body.bytes.extend(bytes);
                body.eos = eos;
            }
            Frame::Trailers => *held_trailers = true,
            Frame::Headers { .. } => return Some(frame),
        }
        None
    }
}

/// How far the request side got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Upstream {
    /// Still travelling through the decoder side.
    Pending,
    /// The whole request reached the upstream, which answered.
    Reached,
    /// A local reply answered instead; the rest of the request is dropped.
    Bypassed,
}

/// How far the response to the client got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClientProgress {
    Waiting,
    HeadersSent,
    Done,
}

/// One filter callback's place: stage, VM, stream context and direction.
#[derive(Debug, Clone, Copy)]
pub(crate) struct At {
    pub i: usize,
    pub vmi: usize,
    pub ctx: u32,
    pub dir: Dir,
}

/// Per-stage lanes of a request.
pub(crate) struct Lanes {
    /// Per stage: stream context id in its VM.
    pub ctx: Vec<Option<u32>>,
    pub dec: Vec<DirState>,
    pub enc: Vec<DirState>,
    pub dq: Vec<VecDeque<Frame>>,
    pub eq: Vec<VecDeque<Frame>>,
    /// Indices of stages on the encoder side, in encoding order.
    pub enc_order: Vec<usize>,
}

/// Per-request run state.
pub(crate) struct Run<'a> {
    pub mocks: &'a [HttpMock],
    pub st: Rc<RefCell<HttpState>>,
    pub lanes: Lanes,
    /// Frames from the client not yet sent into the chain.
    pub downstream: VecDeque<Frame>,
    /// The scenario's upstream answer, borrowed (not copied per request).
    pub upstream_resp: &'a Response,
    /// The request as the upstream received it.
    pub upstream: Option<Message>,
    pub upstream_state: Upstream,
    pub client: Option<ClientResponse>,
    pub client_progress: ClientProgress,
    pub reset: Option<String>,
    pub pending_calls: VecDeque<Ready>,
    /// Simulated time and ticks spent waiting for a timer to resume this request.
    pub waited_ns: u64,
    pub waited_ticks: usize,
    pub report: RequestReport,
}

impl Run<'_> {
    pub(crate) fn ds(&mut self, dir: Dir, i: usize) -> &mut DirState {
        match dir {
            Dir::Dec => &mut self.lanes.dec[i],
            Dir::Enc => &mut self.lanes.enc[i],
        }
    }

    pub(crate) fn queue(&mut self, dir: Dir, i: usize) -> &mut VecDeque<Frame> {
        match dir {
            Dir::Dec => &mut self.lanes.dq[i],
            Dir::Enc => &mut self.lanes.eq[i],
        }
    }

    pub(crate) fn client_done(&self) -> bool {
        self.client_progress == ClientProgress::Done
    }

    /// Whether response headers left for the client (a later local reply can only reset).
    pub(crate) fn client_headers_sent(&self) -> bool {
        self.client_progress == ClientProgress::HeadersSent
    }

    pub(crate) fn upstream_done(&self) -> bool {
        self.upstream_state != Upstream::Pending
    }

    /// Reset or answered: no more filter frames run.
    pub(crate) fn finished(&self) -> bool {
        self.reset.is_some() || self.client_done()
    }
}

#[cfg(test)]
mod tests {
    use super::{Body, DirState, Frame};

    #[test]
    fn frames_are_held_only_while_headers_are_stopped() {
        let mut open = DirState::default();
        assert!(open.hold(Frame::Trailers).is_some());
        let mut stopped = DirState::HeadersStopped {
            eos: false,
            held: None,
            held_trailers: false,
        };
        assert!(stopped.hold(Frame::Headers { eos: true }).is_some());
        for (bytes, eos) in [(b"ab".to_vec(), false), (b"c".to_vec(), true)] {
            assert!(stopped.hold(Frame::Data { bytes, eos }).is_none());
        }
        assert!(stopped.hold(Frame::Trailers).is_none());
        assert!(stopped.buffered().is_none());
        let DirState::HeadersStopped {
            held: Some(Body { bytes, eos: true }),
            held_trailers: true,
            ..
        } = &stopped
        else {
            panic!("{stopped:?}");
        };
        assert_eq!(bytes, b"abc");
    }

    #[test]
    fn buffering_keeps_stopped_trailers() {
        let mut s = DirState::default();
        s.stop_trailers();
        s.set_buffered(Some(Body {
            bytes: b"x".to_vec(),
            eos: true,
        }));
        assert_eq!(s.buffered().map(|b| b.bytes.as_slice()), Some(&b"x"[..]));
        assert!(s.take_buffered().is_some() && s.buffered().is_none());
        assert!(matches!(
            s,
            DirState::Open {
                trailers_stopped: true,
                ..
            }
        ));
    }
}
