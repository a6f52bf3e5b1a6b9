import { existsSync, readFileSync, statSync } from 'fs';
import { join } from 'path';
import { Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import { Construct } from 'constructs';

/** Where the fleet unpacks downloaded application code on the instance. */
export const APPLICATION_DIRECTORY = '/opt/celery-app';
/** The virtual environment the fleet creates for downloaded code. */
export const VIRTUAL_ENV_DIRECTORY = `${APPLICATION_DIRECTORY}/.venv`;

/** What the fleet needs to know about the application code once bound. */
export interface WorkerCodeConfig {
  /**
   * Bucket of the zip archive to download at boot.
   * @default - nothing to download (preinstalled)
   */
  readonly bucketName?: string;
  /**
   * Key of the zip archive to download at boot.
   * @default - nothing to download (preinstalled)
   */
  readonly objectKey?: string;
  /**
   * Virtual environment to create, with the archive's `requirements.txt` installed into it.
   * @default - none (preinstalled)
   */
  readonly virtualEnvDirectory?: string;
  /** Absolute path of the `celery` executable. */
  readonly celeryExecutable: string;
  /** Working directory of the worker. */
  readonly workingDirectory: string;
  /**
   * The Celery version the code runs, when it is known at synth time (an exact pin in the
   * asset's `requirements.txt`, or `PreinstalledWorkerCodeOptions.celeryVersion`): the fleet refuses
   * a version older than its broker needs. Otherwise the boot script checks it on the instance.
   * @default - unknown at synth time
   */
  readonly celeryVersion?: string;
  /**
   * Where `celeryVersion` comes from, for error messages.
   * @default - none
   */
  readonly celeryVersionSource?: string;
}

/** Options of `WorkerCode.preinstalled`. */
export interface PreinstalledWorkerCodeOptions {
  /** Absolute path of the `celery` executable in the image, for example `/opt/app/venv/bin/celery`. */
  readonly celeryExecutable: string;
  /** Absolute path of the directory the worker runs in (where the application module is importable). */
  readonly workingDirectory: string;
  /**
   * The Celery version installed in the image (for example `5.6.3`), so that a version older than
   * the broker needs is refused at synth time rather than at boot.
   * @default - unknown: the boot script checks it on the instance
   */
  readonly celeryVersion?: string;
}

/**
 * The Celery application the workers run. Downloaded code is a zip archive unpacked into
 * `/opt/celery-app`; its `requirements.txt` (which must list `celery`) is installed into the
 * virtual environment `/opt/celery-app/.venv` at boot.
 */
export abstract class WorkerCode {
  /**
   * A local directory, uploaded as an S3 asset (zipped by the CDK).
   *
   * @param path The directory that holds the application and its `requirements.txt` (it must
   * exist at synth)
   * @param options Asset options, for example `exclude` patterns or an `assetHash`
   */
  public static fromAsset(path: string, options: s3assets.AssetOptions = {}): WorkerCode {
    if (!existsSync(path) || !statSync(path).isDirectory()) {
      throw new Error(`code: WorkerCode.fromAsset("${path}") is not a directory; give the directory that holds the application and its requirements.txt.`);
    }
    return new AssetWorkerCode(path, options);
  }

  /**
   * A zip archive in S3 (with the application and its `requirements.txt` at the top level).
   *
   * @param bucket The bucket that holds the archive (the instances may read `key` only)
   * @param key Object key of the archive, ending in `.zip`
   */
  public static fromBucket(bucket: s3.IBucket, key: string): WorkerCode {
    if (!Token.isUnresolved(key) && !/\.zip$/i.test(key)) {
      throw new Error(`code: WorkerCode.fromBucket key "${key}" is not a .zip archive; the boot script unpacks a zip file with the application and its requirements.txt.`);
    }
    return new BucketWorkerCode(bucket, key);
  }

  /**
   * Code already installed in a custom machine image.
   *
   * @param options Where the image has the `celery` executable and the directory the worker runs
   * in (absolute paths without spaces, quotes, `$`, `%` or backslashes)
   */
  public static preinstalled(options: PreinstalledWorkerCodeOptions): WorkerCode {
    if (options.celeryVersion !== undefined && !Token.isUnresolved(options.celeryVersion) && !CELERY_VERSION_FORMAT.test(options.celeryVersion)) {
      throw new Error(`code: WorkerCode.preinstalled celeryVersion ${JSON.stringify(options.celeryVersion)} is not a Celery version; give MAJOR.MINOR or MAJOR.MINOR.PATCH, for example "5.6.3".`);
    }
    for (const [prop, value] of [['celeryExecutable', options.celeryExecutable], ['workingDirectory', options.workingDirectory]]) {
      if (!Token.isUnresolved(value) && (!value.startsWith('/') || /[\s"'\\$`%]/.test(value))) {
        throw new Error(`code: WorkerCode.preinstalled ${prop} ${JSON.stringify(value)} must be an absolute path without spaces, quotes, $, % or backslashes.`);
      }
    }
    return new PreinstalledWorkerCode(options);
  }

  /**
   * Make the code available to the instances and grant them read access to it.
   *
   * @param scope The construct under which resources the code needs are created, for example the
   * asset of `fromAsset` as `Code` (`CeleryWorkerFleet` passes itself)
   * @param grantee The principal given read access to the code: the fleet's instance role
   */
  public abstract bind(scope: Construct, grantee: iam.IGrantable): WorkerCodeConfig;
}

class AssetWorkerCode extends WorkerCode {
  constructor(private readonly path: string, private readonly options: s3assets.AssetOptions) { super(); }

  public bind(scope: Construct, grantee: iam.IGrantable): WorkerCodeConfig {
    const asset = new s3assets.Asset(scope, 'Code', { ...this.options, path: this.path });
    // The object only, not the whole asset bucket.
    asset.bucket.grantRead(grantee, asset.s3ObjectKey);
    const requirements = join(this.path, 'requirements.txt');
    const celeryVersion = existsSync(requirements) ? pinnedCeleryVersion(readFileSync(requirements, 'utf8')) : undefined;
    return {
      bucketName: asset.s3BucketName,
      objectKey: asset.s3ObjectKey,
      virtualEnvDirectory: VIRTUAL_ENV_DIRECTORY,
      celeryExecutable: `${VIRTUAL_ENV_DIRECTORY}/bin/celery`,
      workingDirectory: APPLICATION_DIRECTORY,
      celeryVersion,
      celeryVersionSource: celeryVersion ? `pinned in ${requirements}` : undefined,
    };
  }
}

class BucketWorkerCode extends WorkerCode {
  constructor(private readonly bucket: s3.IBucket, private readonly key: string) { super(); }

  public bind(_scope: Construct, grantee: iam.IGrantable): WorkerCodeConfig {
    this.bucket.grantRead(grantee, this.key);
    return {
      bucketName: this.bucket.bucketName,
      objectKey: this.key,
      virtualEnvDirectory: VIRTUAL_ENV_DIRECTORY,
      celeryExecutable: `${VIRTUAL_ENV_DIRECTORY}/bin/celery`,
      workingDirectory: APPLICATION_DIRECTORY,
    };
  }
}

class PreinstalledWorkerCode extends WorkerCode {
  constructor(private readonly options: PreinstalledWorkerCodeOptions) { super(); }

  public bind(): WorkerCodeConfig {
    return {
      celeryExecutable: this.options.celeryExecutable,
      workingDirectory: this.options.workingDirectory,
      celeryVersion: this.options.celeryVersion,
      celeryVersionSource: this.options.celeryVersion ? 'WorkerCode.preinstalled celeryVersion' : undefined,
    };
  }
}

const CELERY_VERSION_FORMAT = /^\d+\.\d+(\.\d+)?([a-z0-9.+-]*)$/i;

/**
 * The version an exact `celery==X` (or `celery[extras]==X`) line of a requirements file pins, if
 * any. Ranges (`>=`, `~=`) leave the choice to pip, so they say nothing for certain.
 */
function pinnedCeleryVersion(requirements: string): string | undefined {
  for (const raw of requirements.split(/\r?\n/)) {
    const line = raw.replace(/\s+#.*$/, '').trim();
    const match = /^celery(\[[^\]]*\])?\s*===?\s*([0-9][A-Za-z0-9.+-]*)\s*(;.*)?$/i.exec(line);
    if (match) return match[2];
  }
  return undefined;
}
