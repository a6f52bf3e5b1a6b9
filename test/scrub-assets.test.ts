import { scrubAssets } from './scrub-assets';

test('scrubAssets replaces asset hashes (with their suffix kept) and bootstrap bucket names, and nothing else', () => {
  const hash = 'a'.repeat(64);
  expect(scrubAssets({
    S3Key: `${hash}.zip`,
    Template: `${hash}.json`,
    Image: `repo:${hash}`,
    S3Bucket: { 'Fn::Sub': 'cdk-hnb659fds-assets-${AWS::AccountId}-${AWS::Region}' },
    Literal: 'cdk-hnb659fds-assets-123456789012-eu-west-1',
    ShortHex: 'a'.repeat(63),
    Kept: 'my-code-bucket/releases/app-1.2.zip',
  })).toEqual({
    S3Key: '<asset-hash>.zip',
    Template: '<asset-hash>.json',
    Image: 'repo:<asset-hash>',
    S3Bucket: { 'Fn::Sub': '<asset-bucket>' },
    Literal: '<asset-bucket>',
    ShortHex: 'a'.repeat(63),
    Kept: 'my-code-bucket/releases/app-1.2.zip',
  });
});
