"""An SMS backend for worker-process tests: delivers like the file backend (idempotent by key)
and journals every hand-off, so a test can count hand-offs repeated after a crash."""

from scheduling.sms import FileSmsBackend


class JournalSmsBackend(FileSmsBackend):
    def send(self, *, to: str, body: str, key: str) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        with (self.directory / "handoffs.log").open("a", encoding="utf-8") as journal:
            journal.write(f"{key}\n")
        super().send(to=to, body=body, key=key)
