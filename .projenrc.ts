import { awscdk, javascript, JsonFile } from 'projen';

// Single source of truth for package.json, tsconfig, jest, eslint, jsii targets and tasks.
// Never hand-edit the generated files; change this file and run `npx projen`.

const CDK_VERSION = '2.245.0';

const project = new awscdk.AwsCdkConstructLibrary({
  name: 'cdk-celery',
  description:
    'AWS CDK constructs that run Celery on Amazon MQ for RabbitMQ without the failure modes that take brokers down (mingle storms, synchronised restarts, silent exit-0 crashes).',
  author: 'cdk-celery developers',
  authorAddress: 'dev@cdk-celery.local',
  repositoryUrl: 'https://github.com/cdk-celery/cdk-celery.git',
  keywords: ['aws-cdk', 'celery', 'rabbitmq', 'amazon-mq', 'autoscaling', 'cloudwatch'],
  license: 'Apache-2.0',
  defaultReleaseBranch: 'main',
  packageManager: javascript.NodePackageManager.NPM,
  projenrcTs: true,
  cdkVersion: CDK_VERSION,
  jsiiVersion: '~6.0.0',
  // Node.js 20 is past end of life (jsii warns on every build); the build, the tests, CI and the
  // doctor CLI run on 22 (scripts/install-test-deps.sh installs it), and the Lambda handlers on nodejs22.x.
  minNodeVersion: '22.0.0',
  workflowNodeVersion: '22.x',

  // Python users are the main audience: Celery is a Python library.
  publishToPypi: {
    distName: 'cdk-celery',
    module: 'cdk_celery',
  },

  // Custom resource handlers (`*.lambda.ts`) are bundled with esbuild at build time into
  // assets/. They import nothing but AWS SDK v3 clients (client-mq, client-secrets-manager,
  // client-cloudwatch), which the nodejs22.x runtime provides, so the SDK stays out of the bundles
  // (1.1 MB each with it); the unit tests that load the handlers resolve it from node_modules.
  // test/lambda-bundles.test.ts fails if a bundle requires anything else.
  lambdaAutoDiscover: true,
  lambdaOptions: {
    runtime: awscdk.LambdaRuntime.NODEJS_22_X,
    bundlingOptions: {
      externals: ['@aws-sdk/*'],
      sourcemap: false,
    },
  },

  experimentalIntegRunner: true,

  devDeps: [
    '@aws-sdk/client-mq@^3',
    '@aws-sdk/client-secrets-manager@^3',
    // The doctor CLI's and the metrics publisher's clients: bundled into their JS files at build
    // time, so none of them is a runtime dependency of the jsii library.
    '@aws-sdk/client-auto-scaling@^3',
    '@aws-sdk/client-cloudwatch@^3',
    '@aws-sdk/client-ec2@^3',
    'amqplib@^2',
    'commander@^14',
    'shell-quote@^1',
    '@types/shell-quote@^1',
    'yaml@^2',
    // Validates the doctor's --json output against its published schema in the tests.
    'ajv@^8',
    'aws-sdk-client-mock@^4',
    'aws-sdk-client-mock-jest@^4',
    '@types/aws-lambda',
    'cdk-nag@^2',
    'aws-cdk@^2',
    `@aws-cdk/integ-tests-alpha@${CDK_VERSION}-alpha.0`,
    '@aws-cdk/integ-runner@^2',
    // Generative tests: arbitrary strings through everything that reaches user data, units and Celery's command line.
    'fast-check@^4',
    // The benchmark's chart (docs/join-ingress.svg): Vega-Lite compiled to Vega, rendered to SVG
    // headless. Major 5: vega 6 is ESM-only with a top-level await (vega-canvas), which neither
    // ts-node's CommonJS nor jest can load.
    'vega@^5.33.1',
    'vega-lite@^5.23.0',
    // Mutation testing of the renderers and the broker (the `mutation` task; not part of the build).
    // Major 9: Stryker 10 needs Node.js 22.
    '@stryker-mutator/core@^9.6.1',
    '@stryker-mutator/jest-runner@^9.6.1',
    '@stryker-mutator/typescript-checker@^9.6.1',
  ],

  jestOptions: {
    // Snapshots must fail in CI when they drift, never be rewritten silently.
    updateSnapshot: javascript.UpdateSnapshot.NEVER,
    passWithNoTests: false,
    jestConfig: {
      testTimeout: 30_000,
      // End-to-end suites start their own RabbitMQ; two cores, so at most two suites at once.
      maxWorkers: 2,
      testPathIgnorePatterns: ['/node_modules/', '/cdk.out/', '\\.snapshot/'],
      // The tests' context lookups (a committed cdk.context.json of sorts), and the collection of
      // every synthesized template for cfn-lint (when CDK_CELERY_TEMPLATES_DIR is set).
      setupFilesAfterEnv: ['<rootDir>/test/setup/cdk-context.ts', '<rootDir>/test/cfn-lint/collect-templates.ts'],
    },
  },

  gitignore: ['cdk.out/', '/reports/', '.stryker-tmp*/', '.venv-celery/', '.bench/', '/bench-results/', '.jsii.tabl.json', '__pycache__/', '*.pyc'],

  githubOptions: { mergify: false },
  buildWorkflow: false,
  release: false,
  depsUpgrade: false,
  pullRequestTemplate: false,
});

// With CDK_CELERY_FAIL_ON_SKIPPED_TESTS=1 (.ci/run) any skipped test fails the run.
project.jest?.addReporter(new javascript.JestReporter('<rootDir>/test/fail-on-skipped.reporter.js'));

// Unit and end-to-end suites, told apart by file name: `*.e2e.test.ts` needs the software
// scripts/install-test-deps.sh installs (RabbitMQ, Celery, a systemd to boot, moto_server); every
// other suite runs in-process or with the static checkers (bash, shellcheck, systemd-analyze,
// cfn-lint). One jest config; each task selects by path (later arguments narrow further:
// `npx projen test:unit test/broker`). The build's test task runs both.
const E2E_SUITES = '\\.e2e\\.test\\.ts$';
const testUnit = project.addTask('test:unit', {
  description: 'Run the unit suites (no RabbitMQ, Celery or systemd needed)',
  exec: `jest --ci --testPathPatterns '^(?!.*${E2E_SUITES})'`,
  receiveArgs: true,
});
const testE2e = project.addTask('test:e2e', {
  description: 'Run the end-to-end suites (*.e2e.test.ts) against real RabbitMQ, Celery, systemd and moto_server',
  exec: `jest --ci --testPathPatterns '${E2E_SUITES}'`,
  receiveArgs: true,
});
// The test task keeps its other steps (typecheck, eslint, integ, cfn-lint); its one jest run
// becomes the two tasks above.
const jestStep = project.testTask.steps.findIndex((step) => step.exec?.startsWith('jest') || step.execArgs?.[0] === 'jest');
if (jestStep < 0) throw new Error('projen test task: no jest step to split into test:unit and test:e2e');
project.testTask.removeStep(jestStep);
project.testTask.insertStep(jestStep, { spawn: testUnit.name }, { spawn: testE2e.name });

// The example app and benchmarks are type-checked and linted with the tests, but never published.
// Each folder gets a tsconfig.json of its own, extending the tests' one: ts-node runs them with it,
// and typescript-eslint's project service looks for the nearest tsconfig.json of each file.
for (const dir of ['example', 'bench']) {
  new JsonFile(project, `${dir}/tsconfig.json`, {
    // transpileOnly: the typecheck task already type-checks them; ts-node need not do it again.
    obj: { 'extends': '../test/tsconfig.json', 'include': ['**/*.ts'], 'ts-node': { transpileOnly: true } },
  });
}
project.eslint?.addLintPattern('example');
project.eslint?.addLintPattern('bench');
// The benchmarks never ship (see addPackageIgnore below); their chart libraries are devDependencies.
project.eslint?.allowDevDeps('bench/**');
// docs/: the README's pictures (the benchmark's chart); npm shows them from the repository.
for (const p of ['/example/', '/scripts/', '/.ci/', '/cdk.json', '/bench/', '/docs/', '/cdk.out/', '/rosetta/']) {
  project.addPackageIgnore(p);
}

// ts-jest only transpiles (isolatedModules), so type errors in tests, the example app and the
// benchmarks would otherwise go unnoticed.
const typecheck = project.addTask('typecheck', {
  description: 'Type-check the tests, the example app and the benchmarks',
});
for (const tsconfig of ['test/tsconfig.json', 'example/tsconfig.json', 'bench/tsconfig.json']) {
  typecheck.exec(`tsc --noEmit -p ${tsconfig}`);
}
project.testTask.prependSpawn(typecheck);

// cfn-lint on every template the tests synthesize: the test task collects them (see
// test/cfn-lint/collect-templates.ts) and lints them after jest; zero errors, and no warning that
// .cfnlintrc does not set aside with a reason. cfn-lint comes with the CI image (pyenv).
const TEMPLATES_DIR = 'cdk.out/test-templates';
project.testTask.env('CDK_CELERY_TEMPLATES_DIR', TEMPLATES_DIR);
project.testTask.prependExec(`rm -rf ${TEMPLATES_DIR}`);
const cfnLint = project.addTask('cfn-lint', {
  description: 'Run cfn-lint on every template the tests synthesized (cdk.out/test-templates) and the integ snapshot',
  exec: `bash scripts/cfn-lint-templates.sh ${TEMPLATES_DIR} test/integ.celery-platform.ts.snapshot`,
});
project.testTask.spawn(cfnLint);

// Benchmarks run real RabbitMQ and Celery; they print tables and write bench-results/latest.md.
project.addTask('bench', {
  description: 'Measure broker ingress, restart waves, idle cost and synth cost (see README, Performance)',
  exec: 'ts-node -P bench/tsconfig.json bench/run.ts',
  receiveArgs: true,
});

// Building the Python wheel (`package:python`) pip-installs setuptools and twine from PyPI, which
// CI machines here cannot reach. The build still generates the Python bindings from the jsii
// assembly and byte-compiles them, so a change that breaks the Python target fails the build;
// run `npx projen package:python` where PyPI is reachable to build the wheel itself.
const pythonCode = project.addTask('package:python:code', {
  description: 'Generate the Python bindings (no wheel, no PyPI) and byte-compile them',
});
pythonCode.exec('jsii-pacmak -v --target python --code-only');
pythonCode.exec('python3 -m compileall -q dist/python/src');
const packageAll = project.tasks.tryFind('package-all');
packageAll?.reset();
packageAll?.spawn(project.tasks.tryFind('package:js')!);
packageAll?.spawn(pythonCode);

// Every README example must compile (strict jsii-rosetta) and transliterate to Python.
const rosetta = project.addTask('rosetta:extract', {
  description: 'Compile and transliterate the README examples',
  exec: 'jsii-rosetta extract --strict --fail --compile',
});
project.postCompileTask.spawn(rosetta);

// The public API is guarded by jsii-diff: the assembly just compiled against compat/baseline.jsii,
// the public API as last accepted (no release is published yet; once releases are tagged, the
// baseline is the last release's assembly). Any change a user's code could notice fails the build,
// stable or experimental; a deliberate one updates the baseline in the same commit
// (`npx projen compat:baseline`) so that it shows in review. See the README's "Public API".
// The baseline is a jsii module directory (its package.json names the peer dependencies, which
// jsii-diff resolves from node_modules); its .jsii is the assembly without the README.
const COMPAT_BASELINE = 'compat/baseline';
new JsonFile(project, `${COMPAT_BASELINE}/package.json`, {
  obj: {
    name: project.package.packageName,
    private: true,
    description: 'The public API as last accepted: see the README, "Public API". Not a package.',
    jsii: {},
    peerDependencies: { 'aws-cdk-lib': `^${CDK_VERSION}`, 'constructs': '^10.5.1' },
  },
});
project.gitignore.include(`/${COMPAT_BASELINE}/.jsii`);
const compat = project.tasks.tryFind('compat')!;
compat.reset(`jsii-diff ${COMPAT_BASELINE} . --keys --error-on all`);
compat.description = `Fail on incompatible changes of the public API (jsii-diff against ${COMPAT_BASELINE})`;
project.postCompileTask.prependSpawn(compat);
project.addTask('compat:baseline', {
  description: `Accept the public API just compiled as the new ${COMPAT_BASELINE} (a deliberate API change)`,
  exec: `node -e "const fs = require('fs'); const a = JSON.parse(fs.readFileSync('.jsii', 'utf8')); delete a.readme; fs.writeFileSync('${COMPAT_BASELINE}/.jsii', JSON.stringify(a, null, 1) + '\\n')"`,
});
project.addPackageIgnore('/compat/');

// cdk.json at the root runs the example app. Bundling first makes a fresh clone synthesize
// after a plain `npm ci`. Context: the feature flags aws-cdk-lib recommends for new apps (its
// recommended-feature-flags.json, the values `cdk init` writes), so `cdk synth` has no unconfigured
// flags to report; re-run `npx projen` after upgrading aws-cdk-lib to pick up new ones.
// JSII_DEPRECATED=quiet: aws-cdk-lib reads two of its own deprecated properties whatever the app
// does: StepScalingPolicy always passes `cooldown` to StepScalingAction (aws/aws-cdk#37833) and
// CfnAutoScalingGroup's cfnProperties reads its deprecated `notificationConfiguration`. Neither
// can be acted on here; test/example/deprecations.test.ts fails if any other deprecated API is used.
new awscdk.CdkConfig(project, {
  app: 'npx projen bundle && JSII_DEPRECATED=quiet npx ts-node --prefer-ts-exts -P example/tsconfig.json example/app.ts',
  watchIncludes: ['src/**', 'example/**'],
  featureFlags: awscdk.CdkFeatureFlags.V2.fromLocalAwsCdkLib(),
});

// `cdk-celery doctor`: a read-only audit CLI. It lives in src/doctor but is not exported from
// src/index.ts, so jsii never sees it; esbuild bundles it with its AWS SDK, AMQP and CLI
// dependencies into assets/doctor/cli/index.js (aws-cdk-lib and constructs stay external: they
// are the library's peer dependencies). bin/cdk-celery runs that bundle, building it first
// in a clone where it is missing or older than src/.
project.bundler.addBundle('src/doctor/cli.ts', {
  platform: 'node',
  // Self-contained (it runs on the user's machine, where no AWS SDK can be assumed), for Node.js 22+.
  target: 'node22',
  externals: ['aws-cdk-lib', 'constructs'],
  sourcemap: false,
  watchTask: false,
  // Errors and warnings only: not esbuild's size summary on every `cdk synth` of the example.
  logLevel: javascript.BundleLogLevel.WARNING,
});
// bin/cdk-celery is picked up by projen as the `cdk-celery` bin (binDir).
// The doctor's imports are devDependencies on purpose: the bundle carries them. Its jsii-compiled
// modules (lib/doctor) would need them at run time, so the package ships the bundle instead.
project.eslint?.allowDevDeps('src/doctor/**');
project.addPackageIgnore('/lib/doctor/');


// Mutation testing (StrykerJS) of the pure renderers and the broker, against their unit suites.
// Too slow for the build (about 75 minutes on two cores): run `npx projen mutation` after changing
// src/workers/render or src/broker and read reports/mutation/mutation.html and score.md.
// Incremental: a rerun only tests mutants whose code or tests changed since
// reports/stryker-incremental.json.
new JsonFile(project, 'stryker.config.json', {
  // Stryker refuses unknown keys such as projen's "//" marker; the file is still read-only and tracked by projen.
  marker: false,
  obj: {
    $schema: './node_modules/@stryker-mutator/core/schema/stryker-schema.json',
    packageManager: 'npm',
    testRunner: 'jest',
    // No type checker here: it cost about 3 s per mutant on two cores, 10x the tests' cost. The
    // second pass (scripts/mutation-recheck.js) type-checks the survivors' lines only, so a mutant
    // that would not compile is not counted as survived.
    checkers: [],
    tsconfigFile: 'tsconfig.json',
    coverageAnalysis: 'perTest',
    mutate: [
      'src/workers/render/**/*.ts',
      'src/broker/**/*.ts',
      // Generated by projen (Lambda function wrappers) or by scripts/generate-celery-settings.py (data).
      '!src/broker/*-function.ts',
      '!src/workers/render/celery-settings-table.ts',
      // Lambda entry points only re-export their handler; the handlers themselves are mutated.
      '!src/**/*.lambda.ts',
      '!src/**/index.ts',
    ],
    jest: {
      projectType: 'custom',
      enableFindRelatedTests: true,
      config: {
        // The in-process unit suites of the mutated folders. End-to-end suites, and the suites that
        // run rendered scripts under bash or shellcheck (seconds per test), are too slow to run per
        // mutant; the build runs them. The OnCalendar suite stays in: it asks systemd-analyze only
        // about the expressions a mutant lets through (its 270 mutants took 5 minutes on two cores).
        roots: ['<rootDir>/test/workers/render', '<rootDir>/test/broker'],
        testPathIgnorePatterns: [
          '/node_modules/', '\\.e2e\\.test\\.ts$',
          '/boot-script-generative\\.', '/drain-and-restart-rule\\.', '/periodic-restart\\.', '/script-behaviour\\.',
          '/shellcheck\\.',
        ],
        collectCoverage: false,
        reporters: ['default'],
        // The context lookups only: the cfn-lint template collector loads aws-cdk-lib into every
        // run, pure renderer suites included.
        setupFilesAfterEnv: ['<rootDir>/test/setup/cdk-context.ts'],
      },
    },
    // Two cores are shared with other work.
    concurrency: 2,
    // Beyond the mutant's tests' own time (an endless loop is a timeout, counted as detected).
    timeoutMS: 10_000,
    // The first run, with coverage per test, runs every selected suite in one process.
    dryRunTimeoutMinutes: 20,
    // Mutants of module-level tables (the option and setting tables) are covered by every test, so
    // each would rerun all selected suites (over a minute here): about 1,000 of them would take a
    // day. The tables' entries are pinned by focused tests instead (test/workers/render).
    ignoreStatic: true,
    ignorePatterns: ['/cdk.out', '/coverage', '/test-reports', '/dist', '/lib', '/docs', '/bench-results', '/.bench', '/reports'],
    reporters: ['clear-text', 'progress', 'html', 'json'],
    htmlReporter: { fileName: 'reports/mutation/mutation.html' },
    jsonReporter: { fileName: 'reports/mutation/mutation.json' },
    incremental: true,
    incrementalFile: 'reports/stryker-incremental.json',
    tempDirName: '.stryker-tmp',
  },
});
const mutation = project.addTask('mutation', {
  description: 'Mutation testing (StrykerJS) of src/workers/render and src/broker against their unit suites; not part of the build',
  receiveArgs: true,
});
// The broker's constructs load the bundled Lambda handlers from assets/.
mutation.spawn(project.tasks.tryFind('bundle')!);
mutation.exec('stryker run');
mutation.exec('node scripts/mutation-recheck.js');
project.synth();
