module.exports = (s) => console.log(s);
