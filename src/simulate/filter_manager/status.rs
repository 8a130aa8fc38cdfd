//! What stream callbacks return, as Envoy's filter manager reads it, and how the trace names it.

use std::borrow::Cow;

/// A headers callback's `FilterHeadersStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HeadersStatus {
    /// Continue (0), ContinueAndEndStream (2).
    Continue,
    /// StopIteration (1), which Envoy turns into StopAllIterationAndWatermark.
    StopIteration,
    /// StopAllIterationAndBuffer (3), StopAllIterationAndWatermark (4), or a local reply.
    StopAll,
    /// A value Envoy does not know: continues (its conversion's `default:` case).
    Unknown(i32),
}

impl HeadersStatus {
    pub(crate) fn from_code(code: i32, local_reply: bool) -> HeadersStatus {
        match code {
            _ if local_reply => HeadersStatus::StopAll,
            1 => HeadersStatus::StopIteration,
            3 | 4 => HeadersStatus::StopAll,
            0 | 2 => HeadersStatus::Continue,
            c => HeadersStatus::Unknown(c),
        }
    }

    pub(crate) fn stops(self) -> bool {
        matches!(self, HeadersStatus::StopIteration | HeadersStatus::StopAll)
    }

    pub(crate) fn label(self) -> Cow<'static, str> {
        match self {
            HeadersStatus::Continue => "Continue".into(),
            HeadersStatus::StopIteration => "StopIteration → StopAllIterationAndWatermark".into(),
            HeadersStatus::StopAll => "StopAllIterationAndWatermark".into(),
            HeadersStatus::Unknown(code) => format!(
                "{code} (not a FilterHeadersStatus) → Continue, as Envoy treats unknown values"
            )
            .into(),
        }
    }
}

/// A body callback's `FilterDataStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DataStatus {
    Continue,
    StopIterationAndBuffer,
    StopIterationAndWatermark,
    /// Also what a local reply during the callback amounts to.
    StopIterationNoBuffer,
    /// A value Envoy does not know: continues.
    Unknown(i32),
}

impl DataStatus {
    pub(crate) fn from_code(code: i32, local_reply: bool) -> DataStatus {
        match code {
            _ if local_reply => DataStatus::StopIterationNoBuffer,
            0 => DataStatus::Continue,
            1 => DataStatus::StopIterationAndBuffer,
            2 => DataStatus::StopIterationAndWatermark,
            3 => DataStatus::StopIterationNoBuffer,
            c => DataStatus::Unknown(c),
        }
    }

    pub(crate) fn label(self) -> Cow<'static, str> {
        match self {
            DataStatus::Continue => "Continue".into(),
            DataStatus::StopIterationAndBuffer => "StopIterationAndBuffer".into(),
            DataStatus::StopIterationAndWatermark => "StopIterationAndWatermark".into(),
            DataStatus::StopIterationNoBuffer => "StopIterationNoBuffer".into(),
            DataStatus::Unknown(code) => format!(
                "{code} (not a FilterDataStatus) → Continue, as Envoy treats unknown values"
            )
            .into(),
        }
    }
}

/// A trailers callback's `FilterTrailersStatus`: anything but Continue (0) stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TrailersStatus {
    Continue,
    StopIteration,
}

impl TrailersStatus {
    pub(crate) fn from_code(code: i32, local_reply: bool) -> TrailersStatus {
        if local_reply || code != 0 {
            TrailersStatus::StopIteration
        } else {
            TrailersStatus::Continue
        }
    }

    pub(crate) fn label(self) -> Cow<'static, str> {
        match self {
            TrailersStatus::Continue => "Continue".into(),
            TrailersStatus::StopIteration => "StopIteration".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_statuses() {
        let l = |c, local| HeadersStatus::from_code(c, local).label();
        assert_eq!(l(0, false), "Continue");
        assert_eq!(l(2, false), "Continue");
        assert_eq!(l(1, false), "StopIteration → StopAllIterationAndWatermark");
        assert_eq!(l(1, true), "StopAllIterationAndWatermark");
        assert_eq!(l(4, false), "StopAllIterationAndWatermark");
        assert_eq!(l(9, true), "StopAllIterationAndWatermark");
        assert_eq!(
            l(7, false),
            "7 (not a FilterHeadersStatus) → Continue, as Envoy treats unknown values"
        );
        assert!(!HeadersStatus::from_code(-1, false).stops());
    }

    #[test]
    fn data_and_trailers_statuses() {
        assert_eq!(
            DataStatus::from_code(0, true),
            DataStatus::StopIterationNoBuffer
        );
        assert_eq!(
            DataStatus::from_code(2, false).label(),
            "StopIterationAndWatermark"
        );
        assert_eq!(
            DataStatus::from_code(-3, false).label(),
            "-3 (not a FilterDataStatus) → Continue, as Envoy treats unknown values"
        );
        assert_eq!(
            TrailersStatus::from_code(5, false),
            TrailersStatus::StopIteration
        );
        assert_eq!(
            TrailersStatus::from_code(0, true),
            TrailersStatus::StopIteration
        );
        assert_eq!(TrailersStatus::from_code(0, false).label(), "Continue");
    }
}
