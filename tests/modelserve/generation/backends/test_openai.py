"""The OpenAI-compatible backend against a small chat-completions server run by the test."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from modelserve.generation.backends import (
    BackendConfigError,
    BackendError,
    SamplingParams,
    backend_get,
)

WORDS = ["Tides", " come", " from", " the", " moon", "'s", " pull", "."]


class ChatHandler(BaseHTTPRequestHandler):
    received: list[dict] = []

    def log_message(self, *args):  # keep test output quiet
        pass

    def _json(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        if self.path != "/v1/chat/completions":
            self._json(404, {"error": {"message": "no such route"}})
            return
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        body["_auth"] = self.headers.get("Authorization")
        ChatHandler.received.append(body)
        model = body["model"]
        if model == "needs-key" and self.headers.get("Authorization") != "Bearer sekrit":
            self._json(401, {"error": {"message": "Invalid API key"}})
        elif model == "strict" and "stream_options" in body:
            self._json(400, {"error": {"message": "Unrecognized field: stream_options"}})
        elif model == "missing":
            self._json(404, {"error": {"message": "The model `missing` does not exist"}})
        elif model == "overloaded":
            self._json(503, {"error": {"message": "server overloaded, try later"}})
        elif model == "slow":
            time.sleep(1.5)
            self._json(200, {})
        elif model == "plain-json":
            self._json(
                200,
                {
                    "choices": [
                        {
                            "message": {"role": "assistant", "content": "Whole reply."},
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": {"completion_tokens": 3},
                },
            )
        else:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            self.wfile.write(b": keep-alive comment\n\n")
            first = {"choices": [{"index": 0, "delta": {"role": "assistant"}}]}
            self.wfile.write(f"data: {json.dumps(first)}\n\n".encode())
            for word in WORDS:
                chunk = {"choices": [{"index": 0, "delta": {"content": word}}]}
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.flush()
            last = {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
            self.wfile.write(f"data: {json.dumps(last)}\n\n".encode())
            usage = {"choices": [], "usage": {"completion_tokens": len(WORDS)}}
            self.wfile.write(f"data: {json.dumps(usage)}\n\n".encode())
            self.wfile.write(b"data: [DONE]\n\n")


class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address):  # the timeout test hangs up early
        pass


@pytest.fixture
def server() -> Iterator[str]:
    ChatHandler.received = []
    httpd = QuietServer(("127.0.0.1", 0), ChatHandler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()
    httpd.server_close()


CHAT = [{"role": "user", "content": "Why are there tides?"}]


def test_streams_tokens_and_sends_sampling_params(server):
    backend = backend_get(backend="openai", model="tiny-chat", base_url=server + "/")
    pieces: list[str] = []
    result = backend.generate(
        CHAT,
        SamplingParams(
            temperature=0.2, top_p=0.5, max_new_tokens=20, seed=4, system_prompt="Be brief."
        ),
        on_text=pieces.append,
    )
    assert pieces == WORDS
    assert result.text == "".join(WORDS)
    assert result.n_tokens == len(WORDS)
    assert result.finish_reason == "stop"
    sent = ChatHandler.received[0]
    assert sent["stream"] is True
    assert sent["model"] == "tiny-chat"
    assert sent["max_tokens"] == 20 and sent["seed"] == 4 and sent["temperature"] == 0.2
    assert sent["messages"][0] == {"role": "system", "content": "Be brief."}
    assert sent["_auth"] is None


def test_api_key_comes_from_the_named_env_var(server, monkeypatch):
    monkeypatch.setenv("CHORUS_TEST_KEY", "sekrit")
    backend = backend_get(
        backend="openai", model="needs-key", base_url=server, api_key_env="CHORUS_TEST_KEY"
    )
    assert backend.generate(CHAT, SamplingParams()).text == "".join(WORDS)
    monkeypatch.setenv("CHORUS_TEST_KEY", "wrong")
    with pytest.raises(BackendError, match="HTTP 401: Invalid API key") as info:
        backend.generate(CHAT, SamplingParams())
    assert info.value.retryable is False


def test_missing_key_variable_is_a_clear_config_error(server, monkeypatch):
    monkeypatch.delenv("CHORUS_UNSET_KEY", raising=False)
    backend = backend_get(
        backend="openai", model="needs-key", base_url=server, api_key_env="CHORUS_UNSET_KEY"
    )
    with pytest.raises(BackendConfigError, match="CHORUS_UNSET_KEY is not set"):
        backend.generate(CHAT, SamplingParams())


def test_error_responses_carry_the_server_message(server):
    missing = backend_get(backend="openai", model="missing", base_url=server)
    with pytest.raises(BackendError, match="HTTP 404: The model `missing` does not exist") as e1:
        missing.generate(CHAT, SamplingParams())
    assert e1.value.retryable is False
    busy = backend_get(backend="openai", model="overloaded", base_url=server)
    with pytest.raises(BackendError, match="HTTP 503: server overloaded") as e2:
        busy.generate(CHAT, SamplingParams())
    assert e2.value.retryable is True


def test_non_streaming_json_reply_is_accepted(server):
    backend = backend_get(backend="openai", model="plain-json", base_url=server)
    pieces: list[str] = []
    result = backend.generate(CHAT, SamplingParams(), on_text=pieces.append)
    assert result.text == "Whole reply." and pieces == ["Whole reply."]
    assert result.n_tokens == 3


def test_timeout_is_retryable(server):
    backend = backend_get(backend="openai", model="slow", base_url=server)
    with pytest.raises(BackendError, match="timed out") as info:
        backend.generate(CHAT, SamplingParams(timeout_s=0.3))
    assert info.value.retryable is True


def test_unreachable_server_and_bad_config():
    with pytest.raises(BackendError, match="cannot reach") as info:
        backend_get(backend="openai", model="m", base_url="http://127.0.0.1:9/v1").generate(
            CHAT, SamplingParams(timeout_s=2)
        )
    assert info.value.retryable is True
    with pytest.raises(BackendConfigError, match="base URL"):
        backend_get(backend="openai", model="m", base_url="")


def test_server_refusing_stream_options_is_asked_again_without(server):
    backend = backend_get(backend="openai", model="strict", base_url=server)
    result = backend.generate(CHAT, SamplingParams())
    assert result.text == "".join(WORDS)
    assert ["stream_options" in b for b in ChatHandler.received] == [True, False]
