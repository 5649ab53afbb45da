package live_test

import (
	"os"
	"testing"

	"github.com/batos-dev/batos/uvm/live"
)

func TestMain(m *testing.M) {
	live.ServeIfWorker()
	os.Exit(m.Run())
}
