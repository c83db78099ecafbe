package memory_test

import (
	"testing"

	"github.com/messenger-go/messenger/adapters/memory"
	"github.com/messenger-go/messenger/ports"
	"github.com/messenger-go/messenger/ports/portstest"
)

func TestThrottle(t *testing.T) {
	portstest.RunThrottle(t, func(t *testing.T, clock ports.Clock) ports.Throttle {
		return memory.NewThrottle(memory.ThrottleConfig{Clock: clock})
	})
}
