export * from './broker';
export * from './workers';
export * from './monitoring';
export * from './access';
export * from './patterns';
