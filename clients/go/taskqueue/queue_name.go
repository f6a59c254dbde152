package taskqueue

import (
	"fmt"
	"regexp"
)

// QueueNameMaxLength is the longest queue name the server accepts, in characters.
const QueueNameMaxLength = 128

// queueNamePattern is the server's rule for a whole queue name: 1-128 characters of
// letters, digits and . _ : - (the same rule as wire/queue-name.ts).
var queueNamePattern = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)

// queueNameProblem says what is wrong with name as a queue name, or "" when it is valid.
func queueNameProblem(name string) string {
	if name == "" {
		return "must not be empty"
	}
	if !queueNamePattern.MatchString(name) {
		shown := name
		if len(shown) > 40 {
			shown = shown[:40] + "…"
		}
		return fmt.Sprintf("%q must be 1-%d characters of letters, digits and . _ : -", shown, QueueNameMaxLength)
	}
	return ""
}
