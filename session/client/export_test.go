package client

import "context"

// CallRaw lets tests send bodies the api types cannot express (an unknown
// field).
func (c *Client) CallRaw(ctx context.Context, method, path string, in, out any) error {
	return c.call(ctx, method, path, nil, in, out)
}
