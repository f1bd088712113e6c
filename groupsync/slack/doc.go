// Package slack implements the groupsync connector for Slack with slack-go.
// No slack-go type leaves this package.
package slack
