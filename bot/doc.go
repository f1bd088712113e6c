// Package bot is the bot runtime: lifecycle, one goroutine per group, cron
// jobs and plugin hosting, on top of client, commands, plugins and storage.
package bot
