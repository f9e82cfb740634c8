package store

// The registry of commands: every type that changes the database, under
// the name and version it has in a partition's log. A command's name never
// changes once released; a change to its encoding or meaning is a new
// version. TestReplay fails when a command is missing here or is never
// exercised by the replayed log.
func init() {
	// Accounts and sessions.
	register[CreateUser, *User]("user.create", 1)
	register[UpdateProfile, *User]("user.update_profile", 1)
	register[UpdatePreferences, *User]("user.update_preferences", 1)
	register[CreateSession, *Session]("session.create", 1)
	register[RotateRefresh, *Session]("session.rotate", 1)
	register[RevokeSession, *Session]("session.revoke", 1)

	// The graph.
	register[Follow, FollowState]("graph.follow", 1)
	register[Unfollow, FollowState]("graph.unfollow", 1)
	register[AnswerRequest, struct{}]("graph.answer_request", 1)
	register[Block, struct{}]("graph.block", 1)
	register[Unblock, struct{}]("graph.unblock", 1)
	register[SyncFollow, struct{}]("graph.sync_follow", 1)
	register[AnswerFollow, struct{}]("graph.answer_follow", 1)
	register[DropFollow, struct{}]("graph.drop_follow", 1)
	register[SyncBlock, struct{}]("graph.sync_block", 1)

	// Media, posts, likes and comments.
	register[CreateMedia, *Media]("media.create", 1)
	register[ExpireMedia, Expired]("media.expire", 1)
	register[BlobsCollected, struct{}]("media.blobs_collected", 1)
	register[CreatePost, *Post]("post.create", 1)
	register[ImportPost, *Post]("post.import", 1)
	register[StartImport, *ImportRun]("import.start", 1)
	register[ImportStep, *ImportRun]("import.step", 1)
	register[StartExport, *ExportRun]("export.start", 1)
	register[ExportDone, *ExportRun]("export.done", 1)
	register[EditCaption, *Post]("post.edit_caption", 1)
	register[DeletePost, struct{}]("post.delete", 1)
	register[PurgePost, int]("post.purge", 1)
	register[Like, int64]("post.like", 1)
	register[AddComment, *Comment]("comment.add", 1)
	register[DeleteComment, struct{}]("comment.delete", 1)

	// Home feeds and activity.
	register[Fanout, int]("inbox.fanout", 1)
	register[Unfan, struct{}]("inbox.unfan", 1)
	register[UnfanAuthor, int]("inbox.unfan_author", 1)
	register[Backfill, struct{}]("inbox.backfill", 1)
	register[RebuildInbox, int]("inbox.rebuild", 1)
	register[AddActivity, struct{}]("activity.add", 1)
	register[MarkActivityRead, struct{}]("activity.mark_read", 1)

	// Notifications.
	register[SavePushSubscription, *PushSubscription]("push.save", 1)
	register[DeletePushSubscription, struct{}]("push.delete", 1)
	register[PushAlert, int]("push.alert", 1)
	register[CreateSubscription, *Subscription]("webhook.create", 1)
	register[SetSubscription, *Subscription]("webhook.set", 1)
	register[DeleteSubscription, struct{}]("webhook.delete", 1)
	register[QueueDeliveries, int]("webhook.queue_deliveries", 1)
	register[DeliveryResult, *Subscription]("webhook.delivery_result", 1)

	// The outbox.
	register[JobsDone, struct{}]("outbox.done", 1)
	register[JobFailed, struct{}]("outbox.failed", 1)
	register[RetryDeadJob, struct{}]("outbox.retry_dead", 1)
	register[DiscardDeadJob, struct{}]("outbox.discard_dead", 1)
	register[DiscardJobs, int]("outbox.discard", 1)

	// Administration.
	register[SetSuspended, *User]("admin.set_suspended", 1)
	register[DeleteAccount, struct{}]("admin.delete_account", 1)
	register[PurgeUser, bool]("admin.purge_user", 1)
	register[PurgeContent, int]("admin.purge_content", 1)
	register[SetStanding, struct{}]("admin.set_standing", 1)
	register[FileReport, *Report]("report.file", 1)
	register[ResolveReport, *Report]("report.resolve", 1)

	// Partition configuration.
	register[Configure, PartitionConfig]("partition.configure", 1)
	register[Fence, struct{}]("partition.fence", 1)

	// Repairs.
	register[RepairCounts, []string]("repair.counts", 1)
	register[RemoveInboxEntries, int]("repair.remove_inbox_entries", 1)
}
