/**
 * `maxSessionMemory` (MB) for the HTTP/2 sessions of the clients, the worker SDK and the
 * gateway: in effect no cap. Node's default, 10 MB, counts a client's own requests waiting
 * to be sent: past it, Node resets the streams whose answers arrive (NGHTTP2_ENHANCE_YOUR_CALM)
 * although the server has handled them, so a producer with many large calls outstanding was
 * told that committed tasks had failed. What a peer can make a session hold is bounded by
 * HTTP/2 flow control and the stream limits, not by this number (grpc-js does the same).
 */
export const HTTP2_SESSION_MEMORY_MB = 1_000_000;
