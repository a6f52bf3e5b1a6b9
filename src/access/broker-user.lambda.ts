// Placeholder entry point; the real handler is written in its own commit.
export async function handler(): Promise<void> {
  throw new Error('not implemented');
}
