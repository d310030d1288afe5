//! DataLoaders: a field that needs more rows (an article's comments, a listed article's
//! body) asks its loader for one key; the loader waits a moment for the other fields of
//! the same query to ask too, then reads every key at once. A page of 20 articles asking
//! for their comments costs one statement, not 20 (the N+1 a naive resolver would run).
//! Made per request: what they read depends on the caller (`following`).

use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use backend_kit::db::Database;

use crate::db::articles as article_queries;
use crate::db::comments::{self as comment_queries, Comment};
use crate::error::ApiError;

/// The newest `first` comments of an article.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NewestComments {
    pub article: i64,
    pub first: i64,
}

pub struct CommentsLoader {
    pub db: Database,
    pub viewer: Option<i64>,
}

impl Loader<NewestComments> for CommentsLoader {
    type Value = Vec<Comment>;
    type Error = async_graphql::Error;

    async fn load(
        &self,
        keys: &[NewestComments],
    ) -> Result<HashMap<NewestComments, Self::Value>, Self::Error> {
        // One statement per distinct `first` (a query normally asks for one).
        let mut by_first: HashMap<i64, Vec<i64>> = HashMap::new();
        for key in keys {
            by_first.entry(key.first).or_default().push(key.article);
        }
        let viewer = self.viewer;
        let found = self
            .db
            .run(move |conn| {
                let mut found = HashMap::new();
                for (first, articles) in by_first {
                    for (article, comments) in
                        comment_queries::newest_of_each(conn, &articles, first, viewer)?
                    {
                        found.insert(NewestComments { article, first }, comments);
                    }
                }
                Ok::<_, ApiError>(found)
            })
            .await
            .map_err(super::errors::to_graphql)?;
        Ok(found)
    }
}

/// An article's body and its HTML, by article id.
pub struct BodyLoader {
    pub db: Database,
}

impl Loader<i64> for BodyLoader {
    type Value = (String, String);
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>, Self::Error> {
        let ids = keys.to_vec();
        let rows = self
            .db
            .run(move |conn| article_queries::bodies(conn, &ids).map_err(ApiError::from))
            .await
            .map_err(super::errors::to_graphql)?;
        Ok(rows
            .into_iter()
            .map(|(id, body, html)| (id, (body, html)))
            .collect())
    }
}
