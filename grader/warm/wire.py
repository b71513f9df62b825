"""Messages between the warm grader and its clients: JSON objects, each after its length
(4 bytes, big-endian). A message longer than ``MAX_MESSAGE`` ends the conversation."""
import json

MAX_MESSAGE = 1 << 20
TEXT_CHUNK = 1 << 16  # output is sent in pieces of at most this many characters


class ProtocolError(Exception):
    """The other side sent something that is not a message of this protocol."""


def send(sock, message):
    """Send ``message`` (a dict) on ``sock``."""
    data = json.dumps(message).encode("utf-8")
    sock.sendall(len(data).to_bytes(4, "big") + data)


class Reader:
    """Reads messages from one socket. Bytes already received stay in the reader when a
    ``KeyboardInterrupt`` ends a ``next`` call, so the following call goes on where it left."""

    def __init__(self, sock):
        self.sock = sock
        self.buffer = b""

    def _fill(self, size):
        while len(self.buffer) < size:
            data = self.sock.recv(max(size - len(self.buffer), 1 << 16))
            if not data:
                return False
            self.buffer += data
        return True

    def next(self):
        """The next message (a dict), or None when the other side closed the connection."""
        if not self._fill(4):
            return None
        size = int.from_bytes(self.buffer[:4], "big")
        if size > MAX_MESSAGE:
            raise ProtocolError(f"a message of {size} bytes (at most {MAX_MESSAGE})")
        if not self._fill(4 + size):
            return None
        data, self.buffer = self.buffer[4:4 + size], self.buffer[4 + size:]
        try:
            message = json.loads(data)
        except ValueError:
            raise ProtocolError("a message that is not JSON") from None
        if not isinstance(message, dict):
            raise ProtocolError("a message that is not an object")
        return message
