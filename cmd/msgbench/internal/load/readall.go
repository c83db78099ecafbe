package load

import (
	"bytes"
	"io"
	"net/http"
	"os"
)

// readAll reads a response body and returns a function giving fresh readers
// over it.
func readAll(resp *http.Response) (func() io.Reader, error) {
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, err
	}
	return func() io.Reader { return bytes.NewReader(data) }, nil
}

func pid() int { return os.Getpid() }
