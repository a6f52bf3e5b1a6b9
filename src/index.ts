export * from './broker';
export * from './workers';
