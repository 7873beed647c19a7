//! Function output from CloudWatch Logs: the awslogs streams
//! `<ECS service>/<function>/<task id>`.

use std::collections::{HashSet, VecDeque};
use std::time::{Duration, UNIX_EPOCH};

use aws_sdk_cloudwatchlogs::operation::filter_log_events::FilterLogEventsError;
use aws_sdk_cloudwatchlogs::types::FilteredLogEvent;
use aws_sdk_ecs::primitives::{DateTime, DateTimeFormat};
use futures::stream::BoxStream;
use tokio::sync::mpsc;

use super::error::aws_error;
use async_trait::async_trait;

use super::EcsBackend;
use crate::backend::{Error, LogSource};
use crate::model::{LogMessage, LogRequest};

/// Reads a function's log lines; with `follow`, polls for new ones every `poll` until the
/// reader goes away. The first read is made here, so that a CloudWatch Logs failure is an error
/// before any answer has begun; a later failure ends the stream.
pub async fn stream(
    client: aws_sdk_cloudwatchlogs::Client,
    group: String,
    request: LogRequest,
    poll: Duration,
) -> Result<BoxStream<'static, Result<LogMessage, Error>>, Error> {
    let start = request
        .since
        .map(|t| t.duration_since(UNIX_EPOCH).unwrap_or_default().as_millis() as i64);
    let first = fetch(&client, &group, &request, start).await?;
    let (tx, rx) = mpsc::channel(256);
    tokio::spawn(async move {
        if let Err(e) = produce(&client, &group, &request, start, first, poll, &tx).await {
            let _ = tx.send(Err(e)).await;
        }
    });
    Ok(Box::pin(futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|m| (m, rx))
    })))
}

type Sender = mpsc::Sender<Result<LogMessage, Error>>;

/// Sends `first_events` (read from `start`), then, with `follow`, what each later read finds.
async fn produce(
    client: &aws_sdk_cloudwatchlogs::Client,
    group: &str,
    request: &LogRequest,
    mut start: Option<i64>,
    first_events: Vec<FilteredLogEvent>,
    poll: Duration,
    tx: &Sender,
) -> Result<(), Error> {
    // Events at the newest timestamp already sent, so that a poll from that time skips them.
    let mut sent_at_start: HashSet<String> = HashSet::new();
    let mut first = true;
    let mut pending = Some(first_events);
    loop {
        let events = match pending.take() {
            Some(events) => events,
            None => fetch(client, group, request, start).await?,
        };
        let mut fresh: VecDeque<FilteredLogEvent> = events
            .into_iter()
            .filter(|e| !e.event_id().is_some_and(|id| sent_at_start.contains(id)))
            .collect();
        if first && let Some(tail) = request.tail {
            while fresh.len() > tail {
                fresh.pop_front();
            }
        }
        first = false;
        for event in fresh {
            let timestamp = event.timestamp().unwrap_or_default();
            if Some(timestamp) != start {
                start = Some(timestamp);
                sent_at_start.clear();
            }
            if let Some(id) = event.event_id() {
                sent_at_start.insert(id.to_string());
            }
            if tx.send(Ok(message(request, &event))).await.is_err() {
                return Ok(());
            }
        }
        if !request.follow {
            return Ok(());
        }
        tokio::select! {
            () = tokio::time::sleep(poll) => {}
            () = tx.closed() => return Ok(()),
        }
    }
}

/// Every event from `start` on, oldest first, across all pages.
async fn fetch(
    client: &aws_sdk_cloudwatchlogs::Client,
    group: &str,
    request: &LogRequest,
    start: Option<i64>,
) -> Result<Vec<FilteredLogEvent>, Error> {
    let id = crate::model::FunctionId::new(request.namespace.clone(), request.name.clone());
    // `<ECS service>/<container>/`: the trailing slash keeps `foo` from matching `foobar`'s
    // streams, and the service name keeps namespaces apart.
    let prefix = format!(
        "{}/{}/",
        crate::model::shared::ecs_service(&id),
        request.name
    );
    let mut call = client
        .filter_log_events()
        .log_group_name(group)
        .set_start_time(start);
    call = match &request.instance {
        Some(task) => call.log_stream_names(format!("{prefix}{task}")),
        None => call.log_stream_name_prefix(&prefix),
    };
    let mut pages = call.into_paginator().send();
    let mut events = Vec::new();
    while let Some(page) = pages.next().await {
        match page {
            // Checked here too: not every implementation of the API applies the prefix.
            Ok(page) => events.extend(
                page.events()
                    .iter()
                    .filter(|e| e.log_stream_name().is_some_and(|s| s.starts_with(&prefix)))
                    .cloned(),
            ),
            // No log group or stream yet: no output yet.
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(FilterLogEventsError::ResourceNotFoundException(_))
                ) =>
            {
                break;
            }
            Err(e) => return Err(aws_error("FilterLogEvents", e)),
        }
    }
    events.sort_by_key(|e| e.timestamp().unwrap_or_default());
    Ok(events)
}

fn message(request: &LogRequest, event: &FilteredLogEvent) -> LogMessage {
    let stream = event.log_stream_name().unwrap_or_default();
    let timestamp = DateTime::from_millis(event.timestamp().unwrap_or_default())
        .fmt(DateTimeFormat::DateTime)
        .unwrap_or_default();
    LogMessage {
        name: request.name.to_string(),
        namespace: request.namespace.to_string(),
        instance: stream.rsplit('/').next().unwrap_or_default().to_string(),
        timestamp,
        text: event.message().unwrap_or_default().to_string(),
    }
}

#[async_trait]
impl LogSource for EcsBackend {
    async fn logs(
        &self,
        request: LogRequest,
    ) -> Result<futures::stream::BoxStream<'static, Result<LogMessage, Error>>, Error> {
        stream(
            self.aws.logs.clone(),
            self.settings.task.log_group.clone(),
            request,
            self.settings.log_poll_interval,
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{FunctionName, Namespace};

    #[test]
    fn a_message_names_its_task_and_keeps_the_text_verbatim() {
        let request = LogRequest {
            name: FunctionName::parse("echo").unwrap(),
            namespace: Namespace::default_namespace(),
            instance: None,
            tail: None,
            since: None,
            follow: false,
        };
        let event = FilteredLogEvent::builder()
            .log_stream_name("echo/echo/0123abcd")
            .timestamp(1_764_000_000_123)
            .message("2026/11/26 10:00:00 Forking fprocess.")
            .build();
        let m = message(&request, &event);
        assert_eq!(m.instance, "0123abcd");
        assert_eq!(m.text, "2026/11/26 10:00:00 Forking fprocess.");
        assert_eq!(m.timestamp, "2025-11-24T16:00:00.123Z");
    }
}
