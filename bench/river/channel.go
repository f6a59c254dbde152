package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"sync"
)

// channel is the IPC channel Node.js opens for a child spawned with an "ipc" stdio entry and
// JSON serialization: one JSON message per line, both ways.
type channel struct {
	mu       sync.Mutex
	file     *os.File
	commands chan string
}

// openChannel opens the channel in NODE_CHANNEL_FD and starts reading commands; the process
// exits when the harness goes away.
func openChannel() *channel {
	fd, err := strconv.Atoi(os.Getenv("NODE_CHANNEL_FD"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "river-bench: NODE_CHANNEL_FD is not set (start it from the harness)")
		os.Exit(2)
	}
	c := &channel{file: os.NewFile(uintptr(fd), "ipc"), commands: make(chan string, 16)}
	go func() {
		scanner := bufio.NewScanner(c.file)
		scanner.Buffer(make([]byte, 64*1024), 16*1024*1024)
		for scanner.Scan() {
			var message struct {
				Type string `json:"type"`
			}
			if json.Unmarshal(scanner.Bytes(), &message) == nil && message.Type != "" {
				c.commands <- message.Type
			}
		}
		os.Exit(0)
	}()
	return c
}

// send writes one message; errors end the process (the harness is gone).
func (c *channel) send(message any) {
	line, err := json.Marshal(message)
	if err != nil {
		panic(err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := c.file.Write(append(line, '\n')); err != nil {
		os.Exit(0)
	}
}

// waitFor blocks until the harness sends `command`; `stop` instead exits the process.
func (c *channel) waitFor(command string) {
	for received := range c.commands {
		if received == command {
			return
		}
		if received == "stop" {
			os.Exit(0)
		}
	}
}

// fail reports a fatal error to the harness (when started by it) and exits 1.
func fail(err error) {
	fmt.Fprintf(os.Stderr, "river-bench: %v\n", err)
	if fd, convErr := strconv.Atoi(os.Getenv("NODE_CHANNEL_FD")); convErr == nil {
		line, _ := json.Marshal(map[string]string{"type": "error", "message": err.Error()})
		_, _ = os.NewFile(uintptr(fd), "ipc").Write(append(line, '\n'))
	}
	os.Exit(1)
}
