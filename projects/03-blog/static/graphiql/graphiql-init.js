// Starts GraphiQL on /graphql's page (a file of its own: the page's Content-Security-Policy
// allows no inline script). Queries go to POST /graphql; to act as a user, put
// {"Authorization": "Token <token>"} in the Headers tab (the token from `login`).
const fetcher = GraphiQL.createFetcher({ url: "/graphql" });
const defaultQuery = `# A page of articles, their authors and newest comments: a few SQL statements
# in all, however many articles (see the blog's README, "REST vs GraphQL").
{
  articles(first: 5) {
    articlesCount
    nodes {
      slug
      title
      tagList
      favoritesCount
      author { username }
      comments(first: 3) { body author { username } }
    }
    pageInfo { hasNextPage endCursor }
  }
}
`;
ReactDOM.createRoot(document.getElementById("graphiql")).render(
  React.createElement(GraphiQL, { fetcher, defaultQuery, defaultEditorToolsVisibility: true }),
);
