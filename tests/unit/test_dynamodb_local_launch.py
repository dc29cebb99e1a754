"""DynamoDB Local's class archive (devstack.services.DynamoDBLocalLaunch): the jar's copy without
its manifest's class path, the first JVM writing the archive, the next ones mapping it."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

from devstack.services import DYNAMODB_LOCAL_MAIN, DynamoDBLocalLaunch, dynamodb_local_command

MANIFEST = ("Manifest-Version: 1.0\r\nMain-Class: software.amazon.Main\r\n"
            "Class-Path: . log4j2.xml DynamoDBLocal_lib/a-1.0.jar DynamoDBLocal_lib/b-2\r\n"
            " .0.jar\r\nBundle-Description: DynamoDB Local\r\n\r\n")


def fake_jar_dir(root: Path) -> Path:
    jar_dir = root / "lib" / "dynamodb_local"
    (jar_dir / "DynamoDBLocal_lib").mkdir(parents=True)
    with zipfile.ZipFile(jar_dir / "DynamoDBLocal.jar", "w") as jar:
        jar.writestr("META-INF/MANIFEST.MF", MANIFEST)
        jar.writestr("log4j2.xml", "<Configuration/>")
        jar.writestr("software/amazon/Main.class", b"\xca\xfe\xba\xbe")
    return jar_dir


def test_the_jvm_runs_a_copy_of_the_jar_without_its_class_path_and_the_manifests_jars(tmp_path):
    jar_dir = fake_jar_dir(tmp_path)
    options = DynamoDBLocalLaunch(jar_dir).java_options()

    assert options[-1] == DYNAMODB_LOCAL_MAIN and options[-3] == "-cp"
    copy, *jars = options[-2].split(":")
    assert jars == [str(jar_dir / "DynamoDBLocal_lib/a-1.0.jar"),
                    str(jar_dir / "DynamoDBLocal_lib/b-2.0.jar")]
    with zipfile.ZipFile(copy) as got, zipfile.ZipFile(jar_dir / "DynamoDBLocal.jar") as src:
        manifest = got.read("META-INF/MANIFEST.MF").decode()
        assert "Class-Path" not in manifest and "Main-Class" not in manifest
        assert "Bundle-Description: DynamoDB Local" in manifest
        assert got.namelist() == src.namelist()
        assert all(got.read(n) == src.read(n) for n in src.namelist() if "MANIFEST" not in n)
    assert Path(copy).parent != jar_dir  # not the jar's folder: the class path holds no folder


def test_the_first_jvm_writes_the_archive_and_the_next_maps_it_only_after_a_clean_end(tmp_path):
    jar_dir = fake_jar_dir(tmp_path)
    first = DynamoDBLocalLaunch(jar_dir)
    (dump,) = [o for o in first.java_options() if o.startswith("-XX:ArchiveClassesAtExit=")]
    written = Path(dump.split("=", 1)[1])
    written.write_bytes(b"archive")  # as the JVM does at its end
    killed = DynamoDBLocalLaunch(jar_dir)
    (other,) = [o for o in killed.java_options() if o.startswith("-XX:ArchiveClassesAtExit=")]
    Path(other.split("=", 1)[1]).write_bytes(b"half")
    killed.finish(-9)  # SIGKILLed while writing: dropped
    assert not first.archive.exists() and not Path(other.split("=", 1)[1]).exists()

    first.finish(143)  # SIGTERM's clean shutdown

    assert first.archive.read_bytes() == b"archive" and not written.exists()
    command = dynamodb_local_command(tmp_path, 8003, launch=DynamoDBLocalLaunch(jar_dir))
    assert f"-XX:SharedArchiveFile={first.archive}" in command
    assert not any(o.startswith("-XX:ArchiveClassesAtExit") for o in command)


def test_another_jar_gets_another_archive(tmp_path):
    jar_dir = fake_jar_dir(tmp_path)
    before = DynamoDBLocalLaunch(jar_dir).archive
    jar = jar_dir / "DynamoDBLocal.jar"
    os.utime(jar, ns=(jar.stat().st_atime_ns, jar.stat().st_mtime_ns + 10**9))
    assert DynamoDBLocalLaunch(jar_dir).archive != before
