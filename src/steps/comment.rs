//! The sticky pull request comment.

use super::{Rollout, COMMENT_PERMISSION};
use crate::report::{self, Report};
use crate::runtime::{self};

impl Rollout<'_> {
    /// Starts looking up the pull request's comments, so that the sticky one is found while the
    /// command runs and only the write follows the final status.
    pub(super) fn prefetch_comments(&self, number: Option<u64>) {
        let Some(number) = number else {
            return;
        };
        if !self.inputs.comment.unwrap_or(true) || self.inputs.dry_run {
            return;
        }
        let mut slot = self.comments.borrow_mut();
        if slot.is_none() {
            let client = self.client.clone();
            *slot = Some(tokio::spawn(async move {
                client.list_comments(number, 10).await
            }));
        }
    }

    /// The sticky PR comment: found by its marker, updated in place.
    pub async fn comment(&self, report: &Report) {
        let Some(number) = report.pr_number else {
            return;
        };
        if report::comment_environment(report).is_empty()
            || !self.inputs.comment.unwrap_or(true)
            || self.inputs.dry_run
        {
            return;
        }
        let marker = report::comment_marker(report::comment_environment(report));
        let now = now_utc();
        let body = report::comment(report, &now);
        let prefetched = self.comments.borrow_mut().take();
        let result = async {
            let comments = match prefetched {
                Some(task) => match task.await {
                    Ok(listed) => listed?,
                    Err(_) => self.client.list_comments(number, 10).await?,
                },
                None => self.client.list_comments(number, 10).await?,
            };
            match comments
                .iter()
                .find(|c| c.body.as_deref().is_some_and(|b| b.contains(&marker)))
            {
                Some(c) => self.client.update_comment(c.id, &body).await,
                None => self.client.create_comment(number, &body).await.map(|_| ()),
            }
        }
        .await;
        if let Err(e) = result {
            runtime::warning(&e.explain("Updating the pull request comment", COMMENT_PERMISSION));
        }
    }
}

/// The comment's "updated" time, in UTC (jiff, which the freeze windows use, does the calendar).
pub(super) fn now_utc() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%d %H:%M:%S UTC")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::now_utc;

    #[test]
    fn dates_are_civil() {
        let d = now_utc();
        assert_eq!(d.len(), "2026-11-21 00:00:00 UTC".len(), "{d}");
        assert!(d.starts_with("20"));
    }
}
